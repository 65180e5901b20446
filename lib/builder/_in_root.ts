/**
 * Resolves a path inside a rootfs with chroot semantics, for the host-side reads the build does
 * (stacker:// imports, grab): every component is lstat'ed, symlinks are followed *inside* the root
 * (absolute targets re-rooted, `..` clamped at the root), so a layer's `/out -> /etc` cannot make the
 * host read its own /etc. Safe only while nothing else changes the tree (no container runs in it:
 * the build reads committed snapshots).
 */
import { BuildError } from "../util/errors.ts";

const MAX_LINKS = 40;

/**
 * The host path of `unsafePath` inside `root`; the last component is not followed when it is a
 * symlink (so it is copied as a link). Throws BuildError `build.symlink-loop` past 40 links.
 */
export async function resolveInRoot(root: string, unsafePath: string): Promise<string> {
  const todo = unsafePath.split("/").filter((c) => c !== "" && c !== ".");
  const done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === "..") {
      done.pop();
      continue;
    }
    const host = `${root}/${[...done, c].join("/")}`;
    let st: Deno.FileInfo | undefined;
    try {
      st = await Deno.lstat(host);
    } catch {
      st = undefined;
    }
    if (st?.isSymlink && todo.length > 0) {
      if (++links > MAX_LINKS) {
        throw new BuildError(`Cannot resolve "${unsafePath}": too many symlinks`, {
          code: "build.symlink-loop",
          context: { path: unsafePath },
        });
      }
      const target = await Deno.readLink(host);
      if (target.startsWith("/")) done.length = 0;
      todo.unshift(...target.split("/").filter((x) => x !== "" && x !== "."));
      continue;
    }
    done.push(c);
  }
  return done.length === 0 ? root : `${root}/${done.join("/")}`;
}
