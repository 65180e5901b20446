/** Path helpers of the parse stage: URLs stay, paths resolve against the stacker file dir. */
import { resolve as resolvePath } from "../util/path.ts";
import type { ImportKind } from "./types.ts";

/** True for an http(s) URL. */
export function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/** `p` made absolute against `dir`, with a trailing `/` kept (it is significant for imports). */
export function resolveIn(dir: string, p: string): string {
  const abs = resolvePath(dir, p);
  return p.endsWith("/") && !abs.endsWith("/") ? abs + "/" : abs;
}

/** Where an import comes from, by its path: an http(s) URL, `stacker://<layer>/<path>`, or the host. */
export function importKindOf(path: string): ImportKind {
  return isUrl(path) ? "http" : path.startsWith("stacker://") ? "stacker" : "local";
}
