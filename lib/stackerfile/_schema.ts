/**
 * The zod shapes of the values of a layer's directives (spec §1; the rows of `_directives.ts` use
 * them) and of `config:`. Scalars that YAML may read as numbers or booleans are accepted here; the
 * parser turns them back into their source text.
 */
import { z } from "../util/deps.ts";

export const FROM_KEYS = ["type", "url", "tag", "insecure"];
export const FROM_TYPES = ["docker", "oci", "tar", "built", "scratch"] as const;

export const scalar = z.union([z.string(), z.number(), z.boolean()], { error: "expected a string" });
export const script = z.union([z.string(), z.array(scalar)], {
  error: "expected a string or a list of strings",
});
export const strMap = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean(), z.null()], { error: "expected a string value" }),
  { error: "expected a map of names to strings" },
);
export const str = z.string({ error: "expected a string" });
const int = z.number({ error: "expected an integer" }).int({ error: "expected an integer" });

export const fromSchema = z.object({
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
export const bindsSchema = z.array(bindItem, { error: "expected a list of binds" });

export const overlayDirsSchema = z.array(
  z.object({ source: str, dest: str.optional() }, { error: "expected a map with source and dest" }),
  { error: "expected a list of {source, dest}" },
);

export const configSchema = z.object({
  prerequisites: z.array(str, { error: "expected a list of stacker file paths" }).optional(),
}, { error: "expected a map with prerequisites" });
