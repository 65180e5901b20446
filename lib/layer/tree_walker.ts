/**
 * Walking what changed: an overlay upper directory (whiteout devices and opaque xattrs become OCI
 * whiteouts), or a rootfs beside its base (only what differs). Sibling directories are read
 * concurrently while the output keeps depth-first name order; hardlinked files become tar
 * hardlinks to their first name.
 */
import type { Logger } from "../util/log.ts";
import type { FsOps } from "./fs_ops.ts";
import { ROOTLESS_XATTR } from "./rootless_owner.ts";
import { differs, isOpaque, isWhiteoutDevice, readXattrs, typeOf } from "./tree_compare.ts";

/** Where the changes are. */
export type GenerateInput =
  | { kind: "overlay-upper"; upper: string }
  | { kind: "trees"; base: string; rootfs: string };

/**
 * The changes of `input` in final entry order, hardlinks linked. The walk runs ahead of the
 * consumer (sibling directories concurrently) while the first entries are taken.
 */
export function walkChanges(input: GenerateInput, ops: FsOps, log: Logger): AsyncGenerator<Change> {
  const w = new Walker(log, ops);
  const walk = input.kind === "overlay-upper"
    ? w.upper(input.upper, "")
    : w.trees(input.base, input.rootfs, "");
  return linkHardlinks(flatten(walk));
}

/** One entry of the layer, before it is encoded. */
export interface Change {
  /** Tar name (relative, no leading "./"). */
  name: string;
  /** Host path of the new content; undefined for whiteouts. */
  host?: string;
  st?: Deno.FileInfo;
  xattrs?: Map<string, Uint8Array>;
  /** Owner written to the tar (differs from `st` when rootless). */
  uid?: number;
  gid?: number;
  /** Name of an earlier entry of this layer with the same inode. */
  hardlinkTo?: string;
  /** Marks an unchanged multi-link file: later new links to its inode must not point at it. */
  unchangedInode?: string;
}

function inodeKey(st: Deno.FileInfo): string | undefined {
  return !st.isDirectory && (st.nlink ?? 1) > 1 ? `${st.dev}:${st.ino}` : undefined;
}

/**
 * Sequential pass in final entry order: the first entry of an inode carries the content, later
 * ones become hardlinks to it; inodes also present unchanged in the base are not linked to.
 */
async function* linkHardlinks(found: AsyncIterable<Change>): AsyncGenerator<Change> {
  const first = new Map<string, string>();
  for await (const c of found) {
    if (c.unchangedInode !== undefined) {
      first.delete(c.unchangedInode);
      continue;
    }
    const key = c.st && inodeKey(c.st);
    if (key !== undefined) {
      const target = first.get(key);
      if (target !== undefined) c.hardlinkTo = target;
      else first.set(key, c.name);
    }
    yield c;
  }
}

function join(rel: string, name: string): string {
  return rel === "" ? name : `${rel}/${name}`;
}

async function sortedNames(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const d of Deno.readDir(dir)) names.push(d.name);
  // Byte order of UTF-16 code units equals byte order of UTF-8 for the BMP; enough for determinism.
  return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Bounds how many directories are read at once (each read fans out into many lstat calls). */
class Limiter {
  #free: number;
  readonly #queue: (() => void)[] = [];
  constructor(n: number) {
    this.#free = n;
  }
  async run<T>(f: () => Promise<T>): Promise<T> {
    if (this.#free === 0) await new Promise<void>((r) => this.#queue.push(r));
    else this.#free--;
    try {
      return await f();
    } finally {
      const next = this.#queue.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/**
 * Walks trees, reading sibling directories concurrently (Deno's fs calls run on a thread pool)
 * while keeping the output in depth-first name order.
 */
class Walker {
  readonly #log: Logger;
  readonly #ops: FsOps;
  readonly #limit = new Limiter(8);
  /** Content comparisons hold two open files each. */
  readonly #content = new Limiter(8);
  /** `ops` says which owner a node stands for (its own, or the one a rootless unpack recorded). */
  constructor(log: Logger, ops: FsOps) {
    this.#log = log;
    this.#ops = ops;
  }

  #entry(host: string, rel: string, st: Deno.FileInfo): Change | undefined {
    const c = this.#entryOf(host, rel, st);
    if (c?.xattrs === undefined) return c;
    const recorded = c.xattrs.get(ROOTLESS_XATTR);
    c.xattrs.delete(ROOTLESS_XATTR);
    const owner = this.#ops.tarOwner(st, recorded);
    c.uid = owner.uid;
    c.gid = owner.gid;
    return c;
  }

  #entryOf(host: string, rel: string, st: Deno.FileInfo): Change | undefined {
    const type = typeOf(st);
    if (type === undefined) {
      this.#log.warnOnce(`socket:${rel}`, "Skipping socket: sockets cannot be stored in a layer", {
        path: rel,
      });
      return undefined;
    }
    return { name: type === "dir" ? `${rel}/` : rel, host, st, xattrs: readXattrs(host) };
  }

  async #list(dir: string): Promise<{ names: string[]; stats: Deno.FileInfo[] }> {
    return await this.#limit.run(async () => {
      const names = await sortedNames(dir);
      const stats = await Promise.all(names.map((n) => Deno.lstat(`${dir}/${n}`)));
      return { names, stats };
    });
  }

  /** Everything under `host` (itself included) as new entries. */
  async tree(host: string, rel: string, st: Deno.FileInfo): Promise<Items> {
    const self = this.#entry(host, rel, st);
    if (self === undefined) return [];
    if (!st.isDirectory) return [self];
    const { names, stats } = await this.#list(host);
    return [self, ...names.map((n, i) => quiet(this.tree(`${host}/${n}`, join(rel, n), stats[i])))];
  }

  /** An overlay upper directory: whiteout devices and opaque xattrs become OCI whiteouts. */
  async upper(upper: string, rel: string): Promise<Items> {
    const dir = rel === "" ? upper : `${upper}/${rel}`;
    const { names, stats } = await this.#list(dir);
    return names.flatMap((n, i): Items => {
      const host = `${dir}/${n}`;
      const childRel = join(rel, n);
      const st = stats[i];
      if (isWhiteoutDevice(st)) return [whiteout(rel, n)];
      const self = this.#entry(host, childRel, st);
      if (self === undefined) return [];
      if (!st.isDirectory) return [self];
      const opaque: Change[] = isOpaque(host) ? [{ name: join(childRel, ".wh..wh..opq") }] : [];
      return [self, ...opaque, quiet(this.upper(upper, childRel))];
    });
  }

  /** What differs between `base` and `rootfs` under `rel`. */
  async trees(base: string, rootfs: string, rel: string): Promise<Items> {
    const oldDir = rel === "" ? base : `${base}/${rel}`;
    const newDir = rel === "" ? rootfs : `${rootfs}/${rel}`;
    const [o, n] = await Promise.all([this.#list(oldDir), this.#list(newDir)]);
    const oldStats = new Map(o.names.map((name, i) => [name, o.stats[i]]));
    const newStats = new Map(n.names.map((name, i) => [name, n.stats[i]]));
    const all = [...new Set([...o.names, ...n.names])].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    return all.map((name) =>
      quiet((async (): Promise<Items> => {
        const childRel = join(rel, name);
        const newHost = `${newDir}/${name}`;
        const newSt = newStats.get(name);
        const oldSt = oldStats.get(name);
        if (newSt === undefined) return [whiteout(rel, name)];
        if (oldSt === undefined || oldSt.isDirectory !== newSt.isDirectory) {
          return await this.tree(newHost, childRel, newSt);
        }
        const out: Items = [];
        if (await this.#content.run(() => differs(`${oldDir}/${name}`, oldSt, newHost, newSt))) {
          const self = this.#entry(newHost, childRel, newSt);
          if (self) out.push(self);
        } else {
          const key = inodeKey(newSt);
          if (key !== undefined) out.push({ name: childRel, unchangedInode: key });
        }
        if (newSt.isDirectory) out.push(quiet(this.trees(base, rootfs, childRel)));
        return out;
      })())
    );
  }
}

/** Walk results in order; sub-walks run ahead as promises. */
type Items = (Change | Promise<Items>)[];

/** Marks `p` as handled (it is awaited later, in order) so an early rejection is not "unhandled". */
export function quiet<T>(p: Promise<T>): Promise<T> {
  p.catch(() => {});
  return p;
}

async function* flatten(items: Items | Promise<Items>): AsyncGenerator<Change> {
  for (const it of await items) {
    if (it instanceof Promise) yield* flatten(it);
    else yield it;
  }
}

function whiteout(rel: string, name: string): Change {
  return { name: join(rel, `.wh.${name}`) };
}
