/**
 * One stacker file: substitution, YAML with positions, the zod schema of every directive (spec §1),
 * and normalisation into `LayerSpec`s. Every problem of a file is reported at once.
 */
import { dirname, resolve as resolvePath } from "node:path";
import { YAML, z } from "../util/deps.ts";
import { silentLogger } from "../util/log.ts";
import type { Logger } from "../util/log.ts";
import { didYouMean, type FileProblem, throwProblems } from "./_problems.ts";
import { shellSplit } from "./_shell_split.ts";
import { isMergeKey, locate, sourceText } from "./_yaml_nodes.ts";
import { substitute } from "./substitute.ts";
import type {
  BaseSpec,
  BindSpec,
  ImportSpec,
  LayerSpec,
  OverlayDirSpec,
  ParseOptions,
  SourcePos,
  StackerFile,
} from "./types.ts";

/** Every key a layer may hold (spec §1.1), including the two internal ones stacker tolerates. */
export const LAYER_KEYS: readonly string[] = [
  "from",
  "imports",
  "import",
  "overlay_dirs",
  "run",
  "cmd",
  "entrypoint",
  "full_command",
  "build_env_passthrough",
  "build_env",
  "environment",
  "volumes",
  "labels",
  "generate_labels",
  "working_dir",
  "build_only",
  "binds",
  "runtime_user",
  "annotations",
  "os",
  "arch",
  "bom",
  "was_legacy_import",
  "was_bom",
];
const FROM_KEYS = ["type", "url", "tag", "insecure"];
const FROM_TYPES = ["docker", "oci", "tar", "built", "scratch"] as const;

/** True for an http(s) URL. */
export function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/** `p` made absolute against `dir`, with a trailing `/` kept (it is significant for imports). */
export function resolveIn(dir: string, p: string): string {
  const abs = resolvePath(dir, p);
  return p.endsWith("/") && !abs.endsWith("/") ? abs + "/" : abs;
}

// --- the schema ---------------------------------------------------------------------------------

const scalar = z.union([z.string(), z.number(), z.boolean()], { error: "expected a string" });
const script = z.union([z.string(), z.array(scalar)], { error: "expected a string or a list of strings" });
const strMap = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean(), z.null()], { error: "expected a string value" }),
  { error: "expected a map of names to strings" },
);
const str = z.string({ error: "expected a string" });
const int = z.number({ error: "expected an integer" }).int({ error: "expected an integer" });

const fromSchema = z.object({
  type: z.enum(FROM_TYPES, { error: `expected one of ${FROM_TYPES.map((t) => `"${t}"`).join(", ")}` }),
  url: str.optional(),
  tag: scalar.optional(),
  insecure: z.boolean({ error: "expected true or false" }).optional(),
}, { error: "expected a map with type, url, tag and insecure" });

const importItem = z.preprocess(
  (v) => (typeof v === "string" ? { path: v } : v),
  z.object({
    path: str,
    hash: scalar.optional(),
    dest: str.optional(),
    mode: int.min(0, { error: "expected a mode ≥ 0" }).optional(),
    uid: int.min(0, { error: "expected an id ≥ 0" }).optional(),
    gid: int.min(0, { error: "expected an id ≥ 0" }).optional(),
  }, { error: "expected a path or a map with path, hash, dest, mode, uid, gid" }),
);
const importsSchema = z.preprocess(
  (v) => (typeof v === "string" ? [v] : v),
  z.array(importItem, { error: "expected a path or an array of imports" }),
);

/** `"/p"`, `"/src -> /dest"` (exactly three words) or `{source, dest}`; bad strings stay strings. */
function bindToObject(v: unknown): unknown {
  if (typeof v !== "string") return v;
  const words = v.trim().split(/\s+/);
  if (words.length === 1 && words[0] !== "") return { source: words[0] };
  if (words.length === 3 && words[1] === "->") return { source: words[0], dest: words[2] };
  return v;
}
const bindItem = z.preprocess(
  bindToObject,
  z.object({ source: str, dest: str.optional() }, {
    error: 'expected "PATH", "SOURCE -> DEST" or a map with source and dest',
  }),
);

const layerSchema = z.object({
  from: fromSchema,
  imports: importsSchema.optional(),
  import: importsSchema.optional(),
  overlay_dirs: z.array(
    z.object({ source: str, dest: str.optional() }, { error: "expected a map with source and dest" }),
    { error: "expected a list of {source, dest}" },
  ).optional(),
  run: script.optional(),
  cmd: script.optional(),
  entrypoint: script.optional(),
  full_command: script.optional(),
  build_env_passthrough: z.array(str, { error: "expected a list of regular expressions" }).optional(),
  build_env: strMap.optional(),
  environment: strMap.optional(),
  volumes: z.array(scalar, { error: "expected a list of paths" }).optional(),
  labels: strMap.optional(),
  generate_labels: script.optional(),
  working_dir: scalar.optional(),
  build_only: z.boolean({ error: "expected true or false" }).optional(),
  binds: z.array(bindItem, { error: "expected a list of binds" }).optional(),
  runtime_user: scalar.optional(),
  annotations: strMap.optional(),
  os: str.optional(),
  arch: str.optional(),
  bom: z.unknown().optional(),
  was_legacy_import: z.unknown().optional(),
  was_bom: z.unknown().optional(),
}, { error: "expected a map of directives" });
type LayerInput = z.infer<typeof layerSchema>;

const configSchema = z.object({
  prerequisites: z.array(str, { error: "expected a list of stacker file paths" }).optional(),
}, { error: "expected a map with prerequisites" });

// --- parsing --------------------------------------------------------------------------------------

interface Ctx {
  readonly file: string;
  readonly dir: string;
  readonly text: string;
  readonly doc: YAML.Document;
  readonly lc: YAML.LineCounter;
  readonly problems: FileProblem[];
  readonly log: Logger;
  readonly requireHash: boolean;
  /** The document as plain data (aliases and merge keys resolved), computed once. */
  readonly js: Record<string, unknown>;
}

function posOf(ctx: Ctx, node: YAML.Node | undefined): { line: number; column: number } {
  const off = node?.range?.[0] ?? 0;
  const p = ctx.lc.linePos(off);
  return { line: p.line, column: p.col };
}

function problem(ctx: Ctx, node: YAML.Node | undefined, key: string, code: string, message: string): void {
  ctx.problems.push({ ...posOf(ctx, node), key, code, message });
}

/** Problem at `path` (from the root): at the value, or at the key when `atKey`. */
function problemAt(
  ctx: Ctx,
  path: readonly PropertyKey[],
  code: string,
  message: string,
  atKey = false,
): void {
  const loc = locate(ctx.doc, ctx.doc.contents, path);
  const node = atKey ? loc.key ?? loc.node : loc.node;
  problem(ctx, node, path.map(String).join("."), code, message);
}

/** Rejects non-string keys anywhere below `node` (YAML allows `1:` and `? [a]`; stacker does not). */
function checkKeys(ctx: Ctx, node: unknown, path: string, depth = 0): void {
  if (depth > 64) return;
  if (YAML.isMap(node)) {
    for (const p of node.items) {
      const k = p.key;
      if (isMergeKey(k)) {
        checkKeys(ctx, p.value, path, depth + 1);
        continue;
      }
      if (!YAML.isScalar(k) || typeof k.value !== "string") {
        const shown = YAML.isScalar(k) ? String(k.value) : YAML.isNode(k) ? k.toString() : String(k);
        problem(
          ctx,
          YAML.isNode(k) ? k : undefined,
          path,
          "stackerfile.non-string-key",
          `key "${shown}" is not a string`,
        );
      }
      checkKeys(ctx, p.value, path, depth + 1);
    }
  } else if (YAML.isSeq(node)) {
    for (const i of node.items) checkKeys(ctx, i, path, depth + 1);
  }
}

/** Unknown keys of the map at `path`, each with the closest valid one. */
function checkKnown(
  ctx: Ctx,
  path: readonly string[],
  known: readonly string[],
  what: string,
  code: string,
): void {
  const loc = locate(ctx.doc, ctx.doc.contents, path);
  const node = loc.node;
  if (loc.depth < path.length || !YAML.isMap(node)) return;
  for (const p of node.items) {
    if (!YAML.isScalar(p.key) || typeof p.key.value !== "string" || isMergeKey(p.key)) continue;
    const k = p.key.value;
    if (known.includes(k)) continue;
    problem(ctx, p.key, [...path, k].join("."), code, `${what} "${k}"${didYouMean(k, known)}`);
  }
}

/** The string of a scalar value at `path`, from its source text when YAML made it a number/bool. */
function strAt(ctx: Ctx, path: readonly PropertyKey[], v: string | number | boolean | null): string {
  if (v === null) return "";
  if (typeof v === "string") return v;
  const loc = locate(ctx.doc, ctx.doc.contents, path);
  return sourceText(ctx.text, loc.node) ?? String(v);
}

function mapOf(
  ctx: Ctx,
  path: readonly PropertyKey[],
  m: Record<string, string | number | boolean | null> | undefined,
): Record<string, string> | undefined {
  if (m === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) out[k] = strAt(ctx, [...path, k], v);
  return out;
}

function scriptOf(
  ctx: Ctx,
  path: readonly PropertyKey[],
  v: string | (string | number | boolean)[] | undefined,
): string[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "string") return [v];
  return v.map((item, i) => strAt(ctx, [...path, i], item));
}

function commandOf(
  ctx: Ctx,
  path: readonly PropertyKey[],
  v: string | (string | number | boolean)[] | undefined,
): string[] | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "string") return v.map((item, i) => strAt(ctx, [...path, i], item));
  const words = shellSplit(v);
  if (!Array.isArray(words)) {
    problemAt(ctx, path, "stackerfile.bad-command", `cannot split "${v}" into words: ${words.error}`);
    return undefined;
  }
  return words;
}

/** The mode from its source text: `0755` is octal as in stacker (YAML 1.1), `0o755` and `493` too. */
function modeOf(ctx: Ctx, path: readonly PropertyKey[], v: number): number {
  const src = sourceText(ctx.text, locate(ctx.doc, ctx.doc.contents, path).node);
  const mode = src !== undefined && /^0[0-7]+$/.test(src) ? parseInt(src, 8) : v;
  if (mode > 0o7777) problemAt(ctx, path, "stackerfile.bad-mode", `mode ${src ?? v} is larger than 07777`);
  return mode;
}

function importsOf(
  ctx: Ctx,
  layer: string,
  key: "imports" | "import",
  items: z.infer<typeof importsSchema> | undefined,
): ImportSpec[] | undefined {
  if (items === undefined) return undefined;
  return items.map((it, i) => {
    const path = [layer, key, i];
    const kind = isUrl(it.path) ? "http" : it.path.startsWith("stacker://") ? "stacker" : "local";
    const loc = locate(ctx.doc, ctx.doc.contents, path).node;
    if (YAML.isMap(loc)) {
      for (const p of loc.items) {
        const k = YAML.isScalar(p.key) ? String(p.key.value) : "";
        if (!isMergeKey(p.key) && !["path", "hash", "dest", "mode", "uid", "gid"].includes(k)) {
          // Stacker ignores unknown import keys (import.bats uses `perms:`); we say so.
          ctx.log.warn(
            `${ctx.file}:${posOf(ctx, p.key as YAML.Node).line}: unknown import key "${k}" ignored`,
            {
              layer,
            },
          );
        }
      }
    }
    let hash: string | undefined;
    if (it.hash !== undefined) {
      hash = strAt(ctx, [...path, "hash"], it.hash).toLowerCase().replace(/^sha256:/, "");
      if (!/^[0-9a-f]{64}$/.test(hash)) {
        problemAt(
          ctx,
          [...path, "hash"],
          "stackerfile.bad-hash",
          `Given hash "${it.hash}" is not valid: expected 64 hex digits of sha256`,
        );
      }
    }
    if (ctx.requireHash && kind === "http" && hash === undefined) {
      problemAt(
        ctx,
        path,
        "stackerfile.hash-required",
        `Remote import needs a hash in yaml for path: ${it.path}`,
      );
    }
    if (it.dest !== undefined && !it.dest.startsWith("/")) {
      problemAt(
        ctx,
        [...path, "dest"],
        "stackerfile.relative-dest",
        `import dest "${it.dest}" must be an absolute path`,
      );
    }
    if (kind === "stacker" && !/^stacker:\/\/[^/]+\/./.test(it.path)) {
      problemAt(
        ctx,
        path,
        "stackerfile.bad-stacker-url",
        `import "${it.path}" must look like stacker://LAYER/PATH`,
      );
    }
    return {
      path: kind === "local" ? resolveIn(ctx.dir, it.path) : it.path,
      kind,
      ...(hash !== undefined ? { hash } : {}),
      ...(it.dest !== undefined ? { dest: it.dest } : {}),
      ...(it.mode !== undefined ? { mode: modeOf(ctx, [...path, "mode"], it.mode) } : {}),
      ...(it.uid !== undefined ? { uid: it.uid } : {}),
      ...(it.gid !== undefined ? { gid: it.gid } : {}),
    } satisfies ImportSpec;
  });
}

function fromOf(ctx: Ctx, layer: string, f: LayerInput["from"]): BaseSpec {
  const tag = f.tag === undefined ? undefined : strAt(ctx, [layer, "from", "tag"], f.tag);
  if (f.type === "built" && !tag) {
    problemAt(
      ctx,
      [layer, "from"],
      "stackerfile.no-tag",
      `${layer}: from tag cannot be empty for image type 'built'`,
    );
  }
  if ((f.type === "docker" || f.type === "oci" || f.type === "tar") && !f.url) {
    problemAt(
      ctx,
      [layer, "from"],
      "stackerfile.no-url",
      `${layer}: from url cannot be empty for image type '${f.type}'`,
    );
  }
  if (f.type === "tar" && f.url?.startsWith("stacker://") && !/^stacker:\/\/[^/]+\/./.test(f.url)) {
    problemAt(
      ctx,
      [layer, "from", "url"],
      "stackerfile.bad-stacker-url",
      `url "${f.url}" must look like stacker://LAYER/PATH`,
    );
  }
  return {
    type: f.type,
    ...(f.url !== undefined ? { url: f.url } : {}),
    ...(tag !== undefined ? { tag } : {}),
    ...(f.insecure !== undefined ? { insecure: f.insecure } : {}),
  };
}

function zodProblems(ctx: Ctx, prefix: readonly PropertyKey[], err: z.ZodError, data: unknown): void {
  for (const issue of err.issues) {
    const path = [...prefix, ...issue.path];
    let value: unknown = data;
    for (const seg of issue.path) {
      value = (value as Record<PropertyKey, unknown> | undefined)?.[seg as string];
    }
    const last = issue.path[issue.path.length - 1];
    let message = issue.message;
    if (issue.path.length === 1 && (last === "os" || last === "arch") && value === null) {
      message = `"${String(last)}" value cannot be empty`;
    } else if (value === undefined && issue.code === "invalid_type") {
      message = `missing "${String(last)}": ${message}`;
    }
    const loc = locate(ctx.doc, ctx.doc.contents, path);
    // A missing key is reported at the map that lacks it.
    problem(ctx, loc.node, path.map(String).join("."), "stackerfile.schema", message);
  }
}

function layerOf(ctx: Ctx, name: string, index: number, keyNode: YAML.Node): LayerSpec | undefined {
  const before = ctx.problems.length;
  if (name.includes(":")) {
    problem(
      ctx,
      keyNode,
      name,
      "stackerfile.bad-layer-name",
      `layer name "${name}" contains ":", which is forbidden due to overlay constraints`,
    );
  }
  const valueNode = locate(ctx.doc, ctx.doc.contents, [name]).node;
  const raw = ctx.js[name];
  if (raw === null || raw === undefined || (YAML.isMap(valueNode) && valueNode.items.length === 0)) {
    problem(ctx, keyNode, name, "stackerfile.no-base", `${name}: invalid layer: no base (from directive)`);
    return undefined;
  }
  checkKeys(ctx, valueNode, name);
  checkKnown(ctx, [name], LAYER_KEYS, "unknown directive", "stackerfile.unknown-directive");
  checkKnown(
    ctx,
    [name, "from"],
    FROM_KEYS,
    "unknown image source directive",
    "stackerfile.unknown-from-directive",
  );
  if (typeof raw === "object" && !Array.isArray(raw) && !("from" in raw)) {
    problem(ctx, keyNode, name, "stackerfile.no-base", `${name}: invalid layer: no base (from directive)`);
    return undefined;
  }
  const parsed = layerSchema.safeParse(raw);
  if (!parsed.success) {
    zodProblems(ctx, [name], parsed.error, raw);
    return undefined;
  }
  const l = parsed.data;
  const at = (k: string) => [name, k];
  if (l.imports !== undefined && l.import !== undefined) {
    problemAt(
      ctx,
      at("import"),
      "stackerfile.import-and-imports",
      `${name}: use "imports" or the deprecated "import", not both`,
      true,
    );
  }
  if (l.import !== undefined) {
    ctx.log.warnOnce("stackerfile.legacy-import", `"import:" is deprecated: use "imports:"`, {
      file: ctx.file,
      layer: name,
    });
  }
  if (l.bom !== undefined) {
    ctx.log.warnOnce("stackerfile.bom", `"bom:" is no longer supported and is ignored`, {
      file: ctx.file,
      layer: name,
    });
  }
  const positions: Record<string, SourcePos> = { "": { file: ctx.file, ...posOf(ctx, keyNode) } };
  if (YAML.isMap(valueNode)) {
    for (const p of valueNode.items) {
      if (YAML.isScalar(p.key) && !isMergeKey(p.key)) {
        positions[String(p.key.value)] = { file: ctx.file, ...posOf(ctx, p.key) };
      }
    }
  }
  const overlayDirs: OverlayDirSpec[] | undefined = l.overlay_dirs?.map((o) => ({
    source: resolveIn(ctx.dir, o.source),
    dest: o.dest ?? "/",
  }));
  const binds: BindSpec[] | undefined = l.binds?.map((b) => ({
    source: resolveIn(ctx.dir, b.source),
    dest: resolveIn(ctx.dir, b.dest ?? b.source),
  }));
  const run = scriptOf(ctx, at("run"), l.run);
  const spec = {
    name,
    file: ctx.file,
    index,
    from: fromOf(ctx, name, l.from),
    imports: importsOf(ctx, name, "imports", l.imports) ?? importsOf(ctx, name, "import", l.import),
    legacyImport: l.import !== undefined && l.imports === undefined,
    overlayDirs,
    run,
    cmd: commandOf(ctx, at("cmd"), l.cmd),
    entrypoint: commandOf(ctx, at("entrypoint"), l.entrypoint),
    fullCommand: commandOf(ctx, at("full_command"), l.full_command),
    environment: mapOf(ctx, at("environment"), l.environment),
    buildEnv: mapOf(ctx, at("build_env"), l.build_env),
    buildEnvPassthrough: l.build_env_passthrough,
    volumes: l.volumes?.map((v, i) => strAt(ctx, [name, "volumes", i], v)),
    labels: mapOf(ctx, at("labels"), l.labels),
    annotations: mapOf(ctx, at("annotations"), l.annotations),
    generateLabels: scriptOf(ctx, at("generate_labels"), l.generate_labels),
    workingDir: l.working_dir === undefined ? undefined : strAt(ctx, at("working_dir"), l.working_dir),
    runtimeUser: l.runtime_user === undefined ? undefined : strAt(ctx, at("runtime_user"), l.runtime_user),
    buildOnly: l.build_only ?? false,
    binds,
    os: l.os,
    arch: l.arch,
    positions,
    // A closure, not a method: callers may pass it around detached from the spec.
    runScript: (): string | undefined => runScriptOf(run),
  } satisfies LayerSpec;
  for (const p of spec.buildEnvPassthrough ?? []) {
    try {
      new RegExp(`^${p}$`);
    } catch {
      problemAt(
        ctx,
        at("build_env_passthrough"),
        "stackerfile.bad-regex",
        `"${p}" is not a valid regular expression`,
      );
    }
  }
  if (ctx.problems.length > before) return undefined;
  // Drop undefined fields so a spec prints and compares cleanly.
  for (const k of Object.keys(spec) as (keyof typeof spec)[]) {
    if (spec[k] === undefined) delete spec[k];
  }
  return spec;
}

/** The script stacker writes for `run` lines: `#!/bin/sh -xe` first unless the script has its own `#!`. */
export function runScriptOf(run: readonly string[] | undefined): string | undefined {
  if (run === undefined) return undefined;
  const body = run.join("\n");
  const script = body.startsWith("#!") ? body : `#!/bin/sh -xe\n${body}`;
  return script.endsWith("\n") ? script : script + "\n";
}

/**
 * Parses one stacker file: substitutes placeholders in `text`, reads the YAML (anchors, aliases and
 * merge keys allowed; duplicate keys, several documents, tabs and non-string keys rejected), checks
 * every directive and returns the layers in file order. `path` is the file's absolute path or URL;
 * relative paths inside resolve against its directory (against `opts.cwd` for a URL).
 * Throws one StackerfileError listing every problem, each with file, line and column.
 */
export function parseStackerFile(text: string, path: string, opts: ParseOptions = {}): StackerFile {
  const substituted = substitute(text, opts.substitutions ?? [], path);
  const dir = isUrl(path) ? (opts.cwd ?? Deno.cwd()) : dirname(path);
  const lc = new YAML.LineCounter();
  const docs = YAML.parseAllDocuments(substituted, {
    lineCounter: lc,
    uniqueKeys: true,
    keepSourceTokens: true,
    prettyErrors: false,
    merge: true,
  });
  const problems: FileProblem[] = [];
  const at = (off: number) => {
    const p = lc.linePos(off);
    return { line: p.line, column: p.col };
  };
  const list = Array.isArray(docs) ? docs : [];
  if (list.length === 0 || list[0].contents === null) {
    problems.push({
      line: 1,
      column: 1,
      code: "stackerfile.empty",
      message: "the file has no layers (it is empty)",
    });
  }
  if (list.length > 1) {
    problems.push({
      ...at(list[1].range[0]),
      code: "stackerfile.several-documents",
      message: `the file holds ${list.length} YAML documents: a stacker file is one map of layers`,
    });
  }
  for (const d of list) {
    for (const e of d.errors) {
      let msg = e.message.split("\n")[0];
      if (e.code === "DUPLICATE_KEY") {
        msg = `duplicate key "${substituted.slice(e.pos[0]).match(/^[^:\n]*/)![0].trim()}"`;
      }
      problems.push({
        ...at(e.pos[0]),
        code: e.code === "DUPLICATE_KEY" ? "stackerfile.duplicate-key" : "stackerfile.yaml",
        message: /tab/i.test(msg) && !/tabs are not allowed/i.test(msg)
          ? `${msg} (tabs are not allowed for indentation)`
          : msg,
      });
    }
  }
  throwProblems(path, problems);
  const doc = list[0];
  // Collection keys (`? [a]`) would be stringified by toJS (with a process warning): refuse them first.
  YAML.visit(doc, {
    Pair(_, pair) {
      if (YAML.isCollection(pair.key)) {
        const p = lc.linePos(pair.key.range?.[0] ?? 0);
        problems.push({
          line: p.line,
          column: p.col,
          code: "stackerfile.non-string-key",
          message: `key "${pair.key.toString()}" is not a string`,
        });
      }
    },
  });
  throwProblems(path, problems);
  const ctx: Ctx = {
    file: path,
    dir,
    text: substituted,
    doc,
    lc,
    problems,
    log: opts.log ?? silentLogger,
    requireHash: opts.requireHash ?? false,
    js: (YAML.isMap(doc.contents) ? doc.toJS({ maxAliasCount: 10_000 }) : {}) as Record<string, unknown>,
  };
  const root = doc.contents;
  if (!YAML.isMap(root)) {
    problem(
      ctx,
      root ?? undefined,
      "",
      "stackerfile.not-a-map",
      "expected a map of layer names to layer definitions",
    );
    throwProblems(path, problems);
  }
  const layers: LayerSpec[] = [];
  let prerequisites: string[] = [];
  let index = 0;
  for (const pair of (root as YAML.YAMLMap).items) {
    const k = pair.key;
    if (!YAML.isScalar(k) || (typeof k.value !== "string" && !isMergeKey(k))) {
      const shown = YAML.isScalar(k) ? String(k.value) : YAML.isNode(k) ? k.toString() : String(k);
      problem(
        ctx,
        YAML.isNode(k) ? k : undefined,
        "",
        "stackerfile.non-string-key",
        `layer name "${shown}" is not a string`,
      );
      continue;
    }
    if (isMergeKey(k)) {
      problem(ctx, k, "<<", "stackerfile.merge-at-top", "a merge key (<<) cannot define layers");
      continue;
    }
    const name = k.value as string;
    if (name === "config") {
      prerequisites = configOf(ctx);
      continue;
    }
    const spec = layerOf(ctx, name, index++, k);
    if (spec) layers.push(spec);
  }
  throwProblems(path, problems);
  return { path, dir, text: substituted, layers, prerequisites };
}

function configOf(ctx: Ctx): string[] {
  checkKeys(ctx, locate(ctx.doc, ctx.doc.contents, ["config"]).node, "config");
  checkKnown(
    ctx,
    ["config"],
    ["prerequisites"],
    "config cannot contain a layer definition or the key",
    "stackerfile.bad-config",
  );
  const raw = ctx.js.config;
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    zodProblems(ctx, ["config"], parsed.error, raw);
    return [];
  }
  return (parsed.data.prerequisites ?? []).map((p) => (isUrl(p) ? p : resolveIn(ctx.dir, p)));
}
