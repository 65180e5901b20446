/**
 * POSIX path joining for the modules on the pull/push path. `node:path` would do, but importing any
 * `node:` module starts Deno's Node compatibility layer (~7 ms on first use, measured), which a
 * short `stacker` command should not pay for two string functions.
 */

/** Normalizes `path`: collapses `//`, drops `.` segments, resolves `..` lexically (like node's). */
export function normalize(path: string): string {
  if (path === "") return ".";
  const abs = path.startsWith("/");
  const out: string[] = [];
  for (const seg of path.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!abs) out.push("..");
      continue;
    }
    out.push(seg);
  }
  const body = out.join("/");
  if (abs) return "/" + body;
  return body === "" ? "." : body;
}

/** Joins `parts` with `/` and normalizes the result (empty parts are ignored). */
export function join(...parts: string[]): string {
  const kept = parts.filter((p) => p !== "");
  return kept.length === 0 ? "." : normalize(kept.join("/"));
}

/** The directory part of `path` (`/` for `/x`, `.` for `x`). */
export function dirname(path: string): string {
  const n = normalize(path);
  if (n === "/") return "/";
  const i = n.lastIndexOf("/");
  if (i < 0) return ".";
  return i === 0 ? "/" : n.slice(0, i);
}

/** The last segment of `path` (trailing slashes ignored; `` for `/`). */
export function basename(path: string): string {
  const n = normalize(path);
  return n === "/" ? "" : n.slice(n.lastIndexOf("/") + 1);
}

/** `parts` resolved right to left into an absolute, normalized path (relative to the cwd). */
export function resolve(...parts: string[]): string {
  let acc = "";
  for (let i = parts.length - 1; i >= 0 && !acc.startsWith("/"); i--) {
    if (parts[i] !== "") acc = acc === "" ? parts[i] : `${parts[i]}/${acc}`;
  }
  return normalize(acc.startsWith("/") ? acc : `${Deno.cwd()}/${acc}`);
}
