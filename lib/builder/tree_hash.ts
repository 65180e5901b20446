/**
 * Content hashes of import sources and overlay dirs, for the build cache: a file hashes its bytes
 * and mode; a directory hashes, for every entry in name order, its relative path, type, mode,
 * uid, gid, symlink target and file content. Modification times are ignored, so touching a file
 * does not rebuild, changing a byte or a mode does.
 */
import { createHash } from "node:crypto";
import { fileDigest } from "../oci/mod.ts";

export { fileDigest };

/** Hash of a single file or symlink: content (or target), type and mode. */
export async function entryHash(path: string): Promise<string> {
  const st = await Deno.lstat(path);
  const h = createHash("sha256");
  if (st.isSymlink) h.update(`symlink ${await Deno.readLink(path)}`);
  else if (st.isFile) h.update(`file ${(st.mode ?? 0) & 0o7777} ${await fileDigest(path)}`);
  else h.update(`other ${(st.mode ?? 0) & 0o7777}`);
  return `sha256:${h.digest("hex")}`;
}

/** One line per entry in `dir`, sorted by path; symlinks are recorded, never followed. */
export async function treeManifest(dir: string): Promise<string[]> {
  return (await treeLines(dir)).map(([, line]) => line);
}

/** `treeManifest` with each line's relative path beside it. */
async function treeLines(dir: string): Promise<[string, string][]> {
  const lines: [string, string][] = [];
  async function walk(rel: string): Promise<void> {
    const names: string[] = [];
    for await (const e of Deno.readDir(rel ? `${dir}/${rel}` : dir)) names.push(e.name);
    names.sort();
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const p = `${dir}/${r}`;
      const st = await Deno.lstat(p);
      const meta = `${(st.mode ?? 0) & 0o7777} ${st.uid ?? 0} ${st.gid ?? 0}`;
      if (st.isSymlink) {
        lines.push([r, `${JSON.stringify(r)} l ${meta} ${JSON.stringify(await Deno.readLink(p))}`]);
      } else if (st.isFile) lines.push([r, `${JSON.stringify(r)} f ${meta} ${await fileDigest(p)}`]);
      else if (st.isDirectory) {
        lines.push([r, `${JSON.stringify(r)} d ${meta}`]);
        await walk(r);
      } else lines.push([r, `${JSON.stringify(r)} o ${meta}`]);
    }
  }
  await walk("");
  return lines;
}

/** `sha256:<hex>` over `treeManifest(dir)`. */
export async function treeHash(dir: string): Promise<string> {
  return (await treeHashAndEntries(dir)).hash;
}

/**
 * `treeHash(dir)` and, from the same walk, every entry's relative path with a short hash of its
 * manifest line: two walks of a tree compare entry by entry to name what changed.
 */
export async function treeHashAndEntries(
  dir: string,
): Promise<{ hash: string; entries: Record<string, string> }> {
  const h = createHash("sha256");
  const entries: Record<string, string> = {};
  for (const [rel, line] of await treeLines(dir)) {
    h.update(line + "\n");
    entries[rel] = createHash("sha256").update(line).digest("hex").slice(0, 16);
  }
  return { hash: `sha256:${h.digest("hex")}`, entries };
}

/** The hash of whatever `path` is: a tree hash for a directory, an entry hash otherwise. */
export async function pathHash(path: string): Promise<{ kind: "dir" | "file"; hash: string }> {
  const st = await Deno.lstat(path);
  if (st.isDirectory) return { kind: "dir", hash: await treeHash(path) };
  return { kind: "file", hash: await entryHash(path) };
}
