/**
 * The one resolver of untrusted names (tar entry names, hardlink targets, whiteout targets) into
 * host paths inside a root. Resolution goes component by component with lstat + readLink: a
 * symlink met on the way is re-rooted (absolute targets start again at the root, `..` never climbs
 * above it), as a chroot would, with a budget of 40 links (ELOOP).
 *
 * Safe only because nothing else writes the rootfs while we work on it (umoci makes the same
 * assumption): between the lstat and the use of a path, no one can swap a component.
 *
 * Synchronous on purpose: lookups mostly hit the cache of verified directories, and a lookup that
 * goes to disk is one lstat, cheaper inline than a hop through the runtime's thread pool.
 */
import { LayerError } from "../util/errors.ts";

declare const inRoot: unique symbol;
/** An absolute host path whose every directory component was checked to be a real directory in the root. */
export type InRootPath = string & { readonly [inRoot]: true };

const MAX_LINKS = 40;

/**
 * Splits an untrusted tar name into root-relative components. Leading `/` and `./` are dropped
 * (names are rooted, as tar and umoci treat them); `.` components vanish; `..` anywhere is refused
 * rather than clamped, since no honest layer writer produces it. An empty list means the root.
 */
export function splitName(unsafeName: string, what = "entry"): string[] {
  if (unsafeName.length === 0) {
    throw new LayerError(`Cannot unpack ${what}: empty name`, { code: "layer.bad-name" });
  }
  if (unsafeName.includes("\0")) {
    throw new LayerError(`Cannot unpack ${what} "${unsafeName}": name contains NUL`, {
      code: "layer.bad-name",
    });
  }
  const out: string[] = [];
  for (const c of unsafeName.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      throw new LayerError(`Cannot unpack ${what} "${unsafeName}": name contains ".."`, {
        code: "layer.unsafe-name",
        context: { entry: unsafeName },
      });
    }
    out.push(c);
  }
  return out;
}

/** Resolves paths under one root, caching directories it has verified (see `forget`). */
export class RootResolver {
  readonly root: InRootPath;
  /** Relative paths known to be real directories whose ancestors are real directories too. */
  readonly #dirs = new Set<string>([""]);

  constructor(root: string) {
    this.root = root.replace(/\/+$/, "") as InRootPath;
  }

  /** Host path of an already-resolved relative path (components verified by this resolver). */
  host(rel: string): InRootPath {
    return (rel === "" ? this.root : `${this.root}/${rel}`) as InRootPath;
  }

  /** Directories this resolver's user created empty (so only names it wrote can be in them). */
  readonly #fresh = new Set<string>();

  /** Records that `rel` is a real directory; `fresh` when it was just created empty. */
  markDir(rel: string, fresh: boolean): void {
    this.#dirs.add(rel);
    if (fresh) this.#fresh.add(rel);
  }

  /** True when `rel` was created empty by us and not removed since. */
  isFresh(rel: string): boolean {
    return this.#fresh.has(rel);
  }

  /** True while `rel` is known to be a real directory reached only through real directories. */
  isKnownDir(rel: string): boolean {
    return this.#dirs.has(rel);
  }

  /** Must be called after removing or replacing `rel`: drops it and everything under it. */
  forget(rel: string): void {
    if (!this.#dirs.has(rel)) return;
    const prefix = rel + "/";
    for (const d of this.#dirs) if (d === rel || d.startsWith(prefix)) this.#dirs.delete(d);
    for (const d of this.#fresh) if (d === rel || d.startsWith(prefix)) this.#fresh.delete(d);
  }

  /**
   * Resolves `components` as a directory, following symlinks inside the root. Missing
   * directories are created (mode 0755) when `create` is set, else `undefined` is returned. A
   * non-directory on the way fails with `layer.not-a-dir`.
   */
  dir(components: string[], create: boolean, unsafeName: string): string | undefined {
    const direct = components.join("/");
    if (this.#dirs.has(direct)) return direct;
    const resolved: string[] = [];
    const queue = [...components];
    let links = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === "" || c === ".") continue;
      if (c === "..") {
        resolved.pop();
        continue;
      }
      const rel = resolved.length === 0 ? c : `${resolved.join("/")}/${c}`;
      if (this.#dirs.has(rel)) {
        resolved.push(c);
        continue;
      }
      const host = this.host(rel);
      let st: Deno.FileInfo;
      try {
        st = Deno.lstatSync(host);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
        if (!create) return undefined;
        Deno.mkdirSync(host, { mode: 0o755 });
        this.markDir(rel, true);
        resolved.push(c);
        continue;
      }
      if (st.isSymlink) {
        if (++links > MAX_LINKS) {
          throw new LayerError(`Cannot resolve "${unsafeName}": too many levels of symbolic links`, {
            code: "layer.symlink-loop",
            context: { entry: unsafeName },
          });
        }
        const target = Deno.readLinkSync(host);
        if (target.startsWith("/")) resolved.length = 0;
        queue.unshift(...target.split("/"));
        continue;
      }
      if (!st.isDirectory) {
        throw new LayerError(`Cannot resolve "${unsafeName}": "/${rel}" is not a directory`, {
          code: "layer.not-a-dir",
          context: { entry: unsafeName, component: rel },
        });
      }
      this.#dirs.add(rel);
      resolved.push(c);
    }
    return resolved.join("/");
  }

  /**
   * Resolves the parent directories of `unsafeName` (creating missing ones when `create` is set)
   * and names its last component there, not following it: what a new entry is written as, or
   * what a hardlink target or whiteout names. undefined when a parent is missing and `create` is
   * not set, or when the name is the root itself.
   */
  leaf(unsafeName: string, create: boolean, what = "entry"): { rel: string; host: InRootPath } | undefined {
    const comps = splitName(unsafeName, what);
    if (comps.length === 0) return undefined;
    const parent = this.dir(comps.slice(0, -1), create, unsafeName);
    if (parent === undefined) return undefined;
    const rel = parent === "" ? comps[comps.length - 1] : `${parent}/${comps[comps.length - 1]}`;
    return { rel, host: this.host(rel) };
  }
}
