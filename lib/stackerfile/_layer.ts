/**
 * One layer definition (and `config:`) of a parsed YAML document → `LayerSpec`: unknown keys with
 * "did you mean", zod issues mapped back to YAML positions, strings from their source text, paths
 * resolved. Problems are collected in the context, never thrown here.
 */
import { YAML, type z } from "../util/deps.ts";
import type { Logger } from "../util/log.ts";
import {
  configSchema,
  FROM_KEYS,
  type importsSchema,
  LAYER_KEYS,
  type LayerInput,
  layerSchema,
} from "./_schema.ts";
import { didYouMean, type FileProblem } from "./_problems.ts";
import { importKindOf, isUrl, resolveIn } from "./_paths.ts";
import { shellSplit } from "./_shell_split.ts";
import { isMergeKey, locate, sourceText } from "./_yaml_nodes.ts";
import type { BaseSpec, BindSpec, LayerSpec, OverlayDirSpec, SourcePos } from "./types.ts";

export interface Ctx {
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

export function posOf(ctx: Ctx, node: YAML.Node | undefined): { line: number; column: number } {
  const off = node?.range?.[0] ?? 0;
  const p = ctx.lc.linePos(off);
  return { line: p.line, column: p.col };
}

export function problem(
  ctx: Ctx,
  node: YAML.Node | undefined,
  key: string,
  code: string,
  message: string,
): void {
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
export function checkKeys(ctx: Ctx, node: unknown, path: string, depth = 0): void {
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
export function checkKnown(
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
): LayerSpec["imports"] {
  if (items === undefined) return undefined;
  return items.map((it, i) => {
    const path = [layer, key, i];
    const kind = importKindOf(it.path);
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
    };
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

export function zodProblems(ctx: Ctx, prefix: readonly PropertyKey[], err: z.ZodError, data: unknown): void {
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

export function layerOf(ctx: Ctx, name: string, index: number, keyNode: YAML.Node): LayerSpec | undefined {
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

export function configOf(ctx: Ctx): string[] {
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
