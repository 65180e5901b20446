/**
 * Resolves a path inside a rootfs with chroot semantics, for the host-side reads the build does
 * (stacker:// imports, grab): the unpacker's resolver (`RootResolver`) walks every directory, so
 * symlinks are followed *inside* the root (absolute targets re-rooted, `..` clamped at the root)
 * and a layer's `/out -> /etc` cannot make the host read its own /etc. Safe only while nothing
 * else changes the tree (no container runs in it: the build reads committed snapshots).
 */
import { BuildError, LayerError } from "../util/errors.ts";
import { RootResolver } from "../layer/mod.ts";

const MAX_LINKS = 40;

export interface ResolveInRootOptions {
  /** Follow a final symlink too (inside the root), so the result names what the link names. */
  readonly followLast?: boolean;
}

function components(p: string): string[] {
  return p.split("/").filter((c) => c !== "" && c !== ".");
}

/**
 * The host path of `unsafePath` inside `root`. The last component is not followed when it is a
 * symlink (so it is copied as a link) unless `followLast`. A path through a missing or non-directory
 * component names nothing that exists. Throws BuildError `build.symlink-loop` past 40 links.
 */
export async function resolveInRoot(
  root: string,
  unsafePath: string,
  opts: ResolveInRootOptions = {},
): Promise<string> {
  const r = new RootResolver(root);
  let todo = components(unsafePath);
  for (let links = 0;;) {
    // ".." at the end means a directory: resolve it whole.
    const last = todo.at(-1);
    const parentParts = last === ".." ? todo : todo.slice(0, -1);
    let parent: string | undefined;
    try {
      parent = await r.dir(parentParts, false, unsafePath);
    } catch (e) {
      if (e instanceof LayerError && e.code === "layer.symlink-loop") throw loop(unsafePath);
      if (!(e instanceof LayerError && e.code === "layer.not-a-dir")) throw e;
    }
    if (parent === undefined) return `${root}/${todo.filter((c) => c !== "..").join("/")}`;
    if (last === undefined || last === "..") return r.host(parent);
    const host = r.host(parent === "" ? last : `${parent}/${last}`);
    if (!opts.followLast) return host;
    const st = await Deno.lstat(host).catch(() => undefined);
    if (!st?.isSymlink) return host;
    if (++links > MAX_LINKS) throw loop(unsafePath);
    const target = await Deno.readLink(host);
    todo = target.startsWith("/") ? components(target) : [...components(parent), ...components(target)];
  }
}

function loop(path: string): BuildError {
  return new BuildError(`Cannot resolve "${path}": too many symlinks`, {
    code: "build.symlink-loop",
    context: { path },
  });
}
