/**
 * Every directive of a layer (spec §1.1) as one row: its YAML key, the shape zod checks, and how its
 * value becomes fields of the `LayerSpec` (strings from their source text, paths resolved, problems
 * at the value's position). A new directive is one row here, its field in `types.ts` and the code
 * that uses it. Rows see only their own value; rules between directives live in `_layer.ts`.
 */
import { YAML, z } from "../util/deps.ts";
import { type Ctx, posOf, problemAt, strAt } from "./_context.ts";
import { importKindOf, resolveIn } from "./_paths.ts";
import {
  bindsSchema,
  fromSchema,
  importsSchema,
  overlayDirsSchema,
  scalar,
  script,
  str,
  strMap,
} from "./_schema.ts";
import { shellSplit } from "./_shell_split.ts";
import { isMergeKey, locate, sourceText } from "./_yaml_nodes.ts";
import type { LayerSpec } from "./types.ts";

/** The fields of a `LayerSpec` that come from directives. */
export type DirectiveFields = {
  -readonly [K in Exclude<keyof LayerSpec, "name" | "file" | "index" | "positions" | "runScript">]?:
    LayerSpec[K];
};

/** Where a row's value sits: the context, the layer's name and the YAML path of the value. */
export interface DirectiveAt {
  readonly ctx: Ctx;
  readonly layer: string;
  readonly path: readonly PropertyKey[];
}

/** One directive: its key, the zod shape of its value and the fields it gives (none: accepted, ignored). */
export interface Directive {
  readonly key: string;
  readonly schema: z.ZodType;
  readonly fields?: (value: unknown, at: DirectiveAt) => DirectiveFields;
  /** Logged once per run when a layer uses it (deprecated or ignored directives). */
  readonly warning?: { readonly id: string; readonly message: string };
}

function directive<S extends z.ZodType>(
  key: string,
  schema: S,
  fields?: (value: z.output<S>, at: DirectiveAt) => DirectiveFields,
  warning?: Directive["warning"],
): Directive {
  return { key, schema, fields: fields as Directive["fields"], warning };
}

type Scalar = string | number | boolean | null;

function mapOf(at: DirectiveAt, m: Record<string, Scalar>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) out[k] = strAt(at.ctx, [...at.path, k], v);
  return out;
}

function scriptOf(at: DirectiveAt, v: string | (string | number | boolean)[]): string[] {
  if (typeof v === "string") return [v];
  return v.map((item, i) => strAt(at.ctx, [...at.path, i], item));
}

function commandOf(at: DirectiveAt, v: string | (string | number | boolean)[]): string[] | undefined {
  if (typeof v !== "string") return v.map((item, i) => strAt(at.ctx, [...at.path, i], item));
  const words = shellSplit(v);
  if (!Array.isArray(words)) {
    problemAt(at.ctx, at.path, "stackerfile.bad-command", `cannot split "${v}" into words: ${words.error}`);
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

const IMPORT_KEYS = ["path", "hash", "dest", "mode", "uid", "gid"];

/** Stacker ignores unknown import keys (import.bats uses `perms:`); we say so. */
function warnUnknownImportKeys(at: DirectiveAt, path: readonly PropertyKey[]): void {
  const node = locate(at.ctx.doc, at.ctx.doc.contents, path).node;
  if (!YAML.isMap(node)) return;
  for (const p of node.items) {
    const k = YAML.isScalar(p.key) ? String(p.key.value) : "";
    if (isMergeKey(p.key) || IMPORT_KEYS.includes(k)) continue;
    const line = posOf(at.ctx, p.key as YAML.Node).line;
    at.ctx.log.warn(`${at.ctx.file}:${line}: unknown import key "${k}" ignored`, { layer: at.layer });
  }
}

/** The hash in the form the build compares: lower-case hex without `sha256:`; a problem unless 64 digits. */
function hashOf(at: DirectiveAt, path: readonly PropertyKey[], given: string | number | boolean): string {
  const hash = strAt(at.ctx, path, given).toLowerCase().replace(/^sha256:/, "");
  if (!/^[0-9a-f]{64}$/.test(hash)) {
    problemAt(
      at.ctx,
      path,
      "stackerfile.bad-hash",
      `Given hash "${given}" is not valid: expected 64 hex digits of sha256`,
    );
  }
  return hash;
}

function importsOf(at: DirectiveAt, items: z.output<typeof importsSchema>): LayerSpec["imports"] {
  const { ctx } = at;
  return items.map((it, i) => {
    const path = [...at.path, i];
    const kind = importKindOf(it.path);
    warnUnknownImportKeys(at, path);
    const hash = it.hash === undefined ? undefined : hashOf(at, [...path, "hash"], it.hash);
    if (ctx.requireHash && kind === "http" && hash === undefined) {
      problemAt(
        ctx,
        path,
        "stackerfile.hash-required",
        `Remote import needs a hash in yaml for path: ${it.path}`,
      );
    }
    if (it.dest !== undefined && !it.dest.startsWith("/")) {
      const message = `import dest "${it.dest}" must be an absolute path`;
      problemAt(ctx, [...path, "dest"], "stackerfile.relative-dest", message);
    }
    if (kind === "stacker" && !/^stacker:\/\/[^/]+\/./.test(it.path)) {
      const message = `import "${it.path}" must look like stacker://LAYER/PATH`;
      problemAt(ctx, path, "stackerfile.bad-stacker-url", message);
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

function fromOf(at: DirectiveAt, f: z.output<typeof fromSchema>): DirectiveFields {
  const { ctx, layer } = at;
  const tag = f.tag === undefined ? undefined : strAt(ctx, [...at.path, "tag"], f.tag);
  if (f.type === "built" && !tag) {
    const message = `${layer}: from tag cannot be empty for image type 'built'`;
    problemAt(ctx, at.path, "stackerfile.no-tag", message);
  }
  if ((f.type === "docker" || f.type === "oci" || f.type === "tar") && !f.url) {
    const message = `${layer}: from url cannot be empty for image type '${f.type}'`;
    problemAt(ctx, at.path, "stackerfile.no-url", message);
  }
  if (f.type === "tar" && f.url?.startsWith("stacker://") && !/^stacker:\/\/[^/]+\/./.test(f.url)) {
    const message = `url "${f.url}" must look like stacker://LAYER/PATH`;
    problemAt(ctx, [...at.path, "url"], "stackerfile.bad-stacker-url", message);
  }
  return {
    from: {
      type: f.type,
      ...(f.url !== undefined ? { url: f.url } : {}),
      ...(tag !== undefined ? { tag } : {}),
      ...(f.insecure !== undefined ? { insecure: f.insecure } : {}),
    },
  };
}

function passthroughOf(at: DirectiveAt, patterns: string[]): DirectiveFields {
  for (const p of patterns) {
    try {
      new RegExp(`^${p}$`);
    } catch {
      problemAt(at.ctx, at.path, "stackerfile.bad-regex", `"${p}" is not a valid regular expression`);
    }
  }
  return { buildEnvPassthrough: patterns };
}

/** Every key a layer may hold, in spec order (problems of one layer are reported in this order). */
export const DIRECTIVES: readonly Directive[] = [
  directive("from", fromSchema, (v, at) => fromOf(at, v)),
  directive("imports", importsSchema, (v, at) => ({ imports: importsOf(at, v) })),
  directive("import", importsSchema, (v, at) => ({ imports: importsOf(at, v), legacyImport: true }), {
    id: "stackerfile.legacy-import",
    message: `"import:" is deprecated: use "imports:"`,
  }),
  directive("overlay_dirs", overlayDirsSchema, (v, at) => ({
    overlayDirs: v.map((o) => ({ source: resolveIn(at.ctx.dir, o.source), dest: o.dest ?? "/" })),
  })),
  directive("run", script, (v, at) => ({ run: scriptOf(at, v) })),
  directive("cmd", script, (v, at) => ({ cmd: commandOf(at, v) })),
  directive("entrypoint", script, (v, at) => ({ entrypoint: commandOf(at, v) })),
  directive("full_command", script, (v, at) => ({ fullCommand: commandOf(at, v) })),
  directive(
    "build_env_passthrough",
    z.array(str, { error: "expected a list of regular expressions" }),
    (v, at) => passthroughOf(at, v),
  ),
  directive("build_env", strMap, (v, at) => ({ buildEnv: mapOf(at, v) })),
  directive("environment", strMap, (v, at) => ({ environment: mapOf(at, v) })),
  directive("volumes", z.array(scalar, { error: "expected a list of paths" }), (v, at) => ({
    volumes: v.map((item, i) => strAt(at.ctx, [...at.path, i], item)),
  })),
  directive("labels", strMap, (v, at) => ({ labels: mapOf(at, v) })),
  directive("generate_labels", script, (v, at) => ({ generateLabels: scriptOf(at, v) })),
  directive("working_dir", scalar, (v, at) => ({ workingDir: strAt(at.ctx, at.path, v) })),
  directive("build_only", z.boolean({ error: "expected true or false" }), (v) => ({ buildOnly: v })),
  directive("binds", bindsSchema, (v, at) => ({
    binds: v.map((b) => ({
      source: resolveIn(at.ctx.dir, b.source),
      dest: resolveIn(at.ctx.dir, b.dest ?? b.source),
    })),
  })),
  directive("runtime_user", scalar, (v, at) => ({ runtimeUser: strAt(at.ctx, at.path, v) })),
  directive("annotations", strMap, (v, at) => ({ annotations: mapOf(at, v) })),
  directive("os", str, (v) => ({ os: v })),
  directive("arch", str, (v) => ({ arch: v })),
  directive("bom", z.unknown(), undefined, {
    id: "stackerfile.bom",
    message: `"bom:" is no longer supported and is ignored`,
  }),
  // internal keys stacker writes into converted files and tolerates on input
  directive("was_legacy_import", z.unknown()),
  directive("was_bom", z.unknown()),
];

/** Every key a layer may hold, including the two internal ones stacker tolerates. */
export const LAYER_KEYS: readonly string[] = DIRECTIVES.map((d) => d.key);
