/** Path helpers of the parse stage: URLs stay, paths resolve against the stacker file dir. */
import { resolve as resolvePath } from "../util/path.ts";

/** True for an http(s) URL. */
export function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/** `p` made absolute against `dir`, with a trailing `/` kept (it is significant for imports). */
export function resolveIn(dir: string, p: string): string {
  const abs = resolvePath(dir, p);
  return p.endsWith("/") && !abs.endsWith("/") ? abs + "/" : abs;
}
