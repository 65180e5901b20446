/**
 * The zod schema of a stacker file's layer (spec §1) and of `config:`. Scalars that YAML may read
 * as numbers or booleans are accepted here; the parser turns them back into their source text.
 */
import { z } from "../util/deps.ts";

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
export const FROM_KEYS = ["type", "url", "tag", "insecure"];
export const FROM_TYPES = ["docker", "oci", "tar", "built", "scratch"] as const;

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
export const importsSchema = z.preprocess(
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

export const layerSchema = z.object({
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
export type LayerInput = z.infer<typeof layerSchema>;

export const configSchema = z.object({
  prerequisites: z.array(str, { error: "expected a list of stacker file paths" }).optional(),
}, { error: "expected a map with prerequisites" });
