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
  const lines: string[] = [];
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
        lines.push(`${JSON.stringify(r)} l ${meta} ${JSON.stringify(await Deno.readLink(p))}`);
      } else if (st.isFile) lines.push(`${JSON.stringify(r)} f ${meta} ${await fileDigest(p)}`);
      else if (st.isDirectory) {
        lines.push(`${JSON.stringify(r)} d ${meta}`);
        await walk(r);
      } else lines.push(`${JSON.stringify(r)} o ${meta}`);
    }
  }
  await walk("");
  return lines;
}

/** `sha256:<hex>` over `treeManifest(dir)`. */
export async function treeHash(dir: string): Promise<string> {
  const h = createHash("sha256");
  for (const line of await treeManifest(dir)) h.update(line + "\n");
  return `sha256:${h.digest("hex")}`;
}

/** The hash of whatever `path` is: a tree hash for a directory, an entry hash otherwise. */
export async function pathHash(path: string): Promise<{ kind: "dir" | "file"; hash: string }> {
  const st = await Deno.lstat(path);
  if (st.isDirectory) return { kind: "dir", hash: await treeHash(path) };
  return { kind: "file", hash: await entryHash(path) };
}
