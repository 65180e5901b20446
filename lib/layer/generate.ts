/**
 * Generating a layer from what changed: an overlay upper directory, or a rootfs compared with its
 * base. The change list (metadata only) is computed first, so "nothing changed" is known before a
 * byte is produced; then the tar is streamed: entries in depth-first name order, hardlinks kept,
 * PAX where needed, OCI whiteouts, compressed, with diff_id and digest computed as bytes flow.
 *
 * Determinism is decided here: name order, empty uname/gname, whole-second mtimes clamped to
 * `sourceDateEpoch`, whiteouts with mtime 0 owned by 0:0 and a fixed compression level.
 */
import { LayerError } from "../util/errors.ts";
import { type Logger, silentLogger } from "../util/log.ts";
import { openFileChunks } from "../util/file_stream.ts";
import { effectiveIds, lgetxattr, llistxattr } from "../ffi/libc.ts";
import { compress, type Compression, digester, tarMediaType } from "./_compression.ts";
import type { EntryType } from "./_tar_header.ts";
import { bodyPadding, encodeEntryHeader, endOfArchive } from "./_tar_writer.ts";
import type { GeneratedLayer } from "./squashfs.ts";

export type { GeneratedLayer } from "./squashfs.ts";

/** Where the changes are. */
export type GenerateInput =
  | { kind: "overlay-upper"; upper: string }
  | { kind: "trees"; base: string; rootfs: string };

export interface GenerateOptions {
  /** Default "gzip". */
  compression?: Compression;
  /** Compression level (gzip default 6, zstd default 3). */
  level?: number;
  /**
   * gzip worker threads (default: up to 4, started only once the layer passes 4 MiB). The bytes
   * produced do not depend on it.
   */
  workers?: number;
  /**
   * Unprivileged tree (default: effective uid is not 0): owners come from the
   * `user.rootlesscontainers` xattr an unprivileged unpack recorded, else 0:0, as with
   * `umoci repack --rootless`. That xattr is never written to the layer.
   */
  rootless?: boolean;
  /** Clamp mtimes to this many seconds since the epoch: same inputs, same digest. */
  sourceDateEpoch?: number;
  log?: Logger;
}

interface Change {
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

const OVERLAY_XATTR = /^(trusted|user)\.overlay\./;

/**
 * The changes as a layer blob, or undefined when nothing changed. The caller must pipe `stream`
 * to the end (or cancel it); `done` then resolves with the digests, or rejects with the stream's
 * error (e.g. a file that changed size while it was read: `layer.changed-while-reading`).
 */
export async function generateLayer(
  input: GenerateInput,
  opts: GenerateOptions = {},
): Promise<GeneratedLayer | undefined> {
  const log = opts.log ?? silentLogger;
  const w = new Walker(log, opts.rootless ?? effectiveIds().uid !== 0);
  const walk = input.kind === "overlay-upper"
    ? w.upper(input.upper, "")
    : w.trees(input.base, input.rootfs, "");
  const changes = linkHardlinks(flatten(walk));
  // The walk goes on while the first entries are packed: only "is there any change?" is awaited.
  const first = await changes.next();
  if (first.done) return undefined;
  return streamLayer(prepend(first.value, changes), opts);
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

/** The owner umoci --rootless (and our rootless unpack) recorded; NoopID (and absence) means 0. */
export function decodeRootlessOwner(v: Uint8Array | undefined): { uid: number; gid: number } {
  const ids = { uid: 0, gid: 0 };
  if (v === undefined) return ids;
  let i = 0;
  const varint = () => {
    let x = 0, mul = 1;
    for (; i < v.length; i++) {
      x += (v[i] & 0x7f) * mul;
      mul *= 0x80;
      if ((v[i] & 0x80) === 0) return i++, x;
    }
    throw new LayerError(`Cannot read xattr "${ROOTLESS_XATTR}": truncated varint`, {
      code: "layer.bad-xattr",
    });
  };
  while (i < v.length) {
    const key = varint();
    const val = key & 7 ? NaN : varint();
    if (key >> 3 === 1) ids.uid = val === 0xffffffff ? 0 : val;
    else if (key >> 3 === 2) ids.gid = val === 0xffffffff ? 0 : val;
    else if (Number.isNaN(val)) break;
  }
  return ids;
}

const ROOTLESS_XATTR = "user.rootlesscontainers";

function readXattrs(host: string): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const name of llistxattr(host).sort()) {
    if (OVERLAY_XATTR.test(name) || name === "security.selinux") continue;
    const v = lgetxattr(host, name);
    if (v !== undefined) out.set(name, v);
  }
  return out;
}

function typeOf(st: Deno.FileInfo): EntryType | undefined {
  if (st.isFile) return "file";
  if (st.isDirectory) return "dir";
  if (st.isSymlink) return "symlink";
  if (st.isCharDevice) return "char";
  if (st.isBlockDevice) return "block";
  if (st.isFifo) return "fifo";
  return undefined;
}

function isWhiteoutDevice(st: Deno.FileInfo): boolean {
  return st.isCharDevice === true && (st.rdev ?? 0) === 0;
}

function isOpaque(host: string): boolean {
  for (const ns of ["trusted", "user"]) {
    const v = lgetxattr(host, `${ns}.overlay.opaque`);
    if (v !== undefined && v.length === 1 && v[0] === 0x79) return true;
  }
  return false;
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
  readonly #rootless: boolean;
  readonly #limit = new Limiter(8);
  /** Content comparisons hold two open files each. */
  readonly #content = new Limiter(8);
  constructor(log: Logger, rootless: boolean) {
    this.#log = log;
    this.#rootless = rootless;
  }

  #entry(host: string, rel: string, st: Deno.FileInfo): Change | undefined {
    const c = this.#entryOf(host, rel, st);
    if (c?.xattrs === undefined) return c;
    const recorded = c.xattrs.get(ROOTLESS_XATTR);
    c.xattrs.delete(ROOTLESS_XATTR);
    if (this.#rootless) {
      // Files we own stand for root's; the recorded owner, when there is one, wins.
      const ids = decodeRootlessOwner(recorded);
      c.uid = ids.uid;
      c.gid = ids.gid;
    }
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

async function* prepend(first: Change, rest: AsyncGenerator<Change>): AsyncGenerator<Change> {
  yield first;
  yield* rest;
}

/** Walk results in order; sub-walks run ahead as promises. */
type Items = (Change | Promise<Items>)[];

/** Marks `p` as handled (it is awaited later, in order) so an early rejection is not "unhandled". */
function quiet<T>(p: Promise<T>): Promise<T> {
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

function sameXattrs(a: Map<string, Uint8Array>, b: Map<string, Uint8Array>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) {
    const w = b.get(k);
    if (w === undefined || w.length !== v.length || !w.every((x, i) => x === v[i])) return false;
  }
  return true;
}

async function sameContent(a: string, b: string): Promise<boolean> {
  using fa = await Deno.open(a);
  using fb = await Deno.open(b);
  const ba = new Uint8Array(1 << 16), bb = new Uint8Array(1 << 16);
  for (;;) {
    const na = await fa.read(ba);
    if (na === null) return (await fb.read(bb)) === null;
    let got = 0;
    while (got < na) {
      const nb = await fb.read(bb.subarray(got, na));
      if (nb === null) return false;
      got += nb;
    }
    for (let i = 0; i < na; i++) if (ba[i] !== bb[i]) return false;
  }
}

/** Decides whether `newSt` differs from `oldSt`; content is compared only when metadata cannot tell. */
async function differs(
  oldHost: string,
  oldSt: Deno.FileInfo,
  newHost: string,
  newSt: Deno.FileInfo,
): Promise<boolean> {
  const t = typeOf(newSt);
  if (typeOf(oldSt) !== t) return true;
  if (
    (oldSt.mode! & 0o7777) !== (newSt.mode! & 0o7777) || oldSt.uid !== newSt.uid || oldSt.gid !== newSt.gid
  ) {
    return true;
  }
  if (!sameXattrs(readXattrs(oldHost), readXattrs(newHost))) return true;
  switch (t) {
    case "dir":
      return oldSt.mtime?.getTime() !== newSt.mtime?.getTime();
    case "symlink":
      return (await Deno.readLink(oldHost)) !== (await Deno.readLink(newHost));
    case "char":
    case "block":
      return oldSt.rdev !== newSt.rdev;
    case "fifo":
      return false;
    case "file":
      if (oldSt.size !== newSt.size) return true;
      if (oldSt.mtime?.getTime() === newSt.mtime?.getTime()) return false;
      // Touched but maybe not changed: only the bytes can tell (an mtime-only change is not a layer).
      return !(await sameContent(oldHost, newHost));
  }
  return true;
}

function major(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}
function minor(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}

const FLUSH = 256 << 10;
const SMALL = 64 << 10;

const READ_AHEAD = 32;

/** Pairs each change with its body read in advance when it is a small file (bounded window). */
async function* withBodies(
  changes: AsyncIterable<Change>,
): AsyncGenerator<[Change, Promise<Uint8Array> | undefined]> {
  const q: [Change, Promise<Uint8Array> | undefined][] = [];
  const it = changes[Symbol.asyncIterator]();
  let done = false;
  for (;;) {
    while (!done && q.length < READ_AHEAD) {
      const r = await it.next();
      if (r.done) {
        done = true;
        break;
      }
      const c = r.value;
      const small = c.st?.isFile && c.hardlinkTo === undefined && c.st.size > 0 && c.st.size <= SMALL;
      q.push([c, small ? quiet(Deno.readFile(c.host!)) : undefined]);
    }
    const next = q.shift();
    if (next === undefined) return;
    yield next;
  }
}

async function* tarChunks(
  changes: AsyncIterable<Change>,
  epoch: number | undefined,
): AsyncGenerator<Uint8Array> {
  let buf: Uint8Array[] = [];
  let buffered = 0;
  const flush = () => {
    const out = new Uint8Array(buffered);
    let o = 0;
    for (const b of buf) out.set(b, o), o += b.length;
    buf = [], buffered = 0;
    return out;
  };
  const push = (b: Uint8Array) => {
    buf.push(b);
    buffered += b.length;
  };
  const clamp = (t: number) => (epoch !== undefined && t > epoch ? epoch : t);
  for await (const [c, early] of withBodies(changes)) {
    if (c.st === undefined) {
      push(encodeEntryHeader({
        name: c.name,
        type: "file",
        mode: 0,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: 0,
        linkname: "",
        devmajor: 0,
        devminor: 0,
        xattrs: new Map(),
      }));
    } else {
      const st = c.st;
      const type = c.hardlinkTo !== undefined ? "hardlink" : typeOf(st)!;
      const size = type === "file" ? st.size : 0;
      const linkname = type === "symlink" ? await Deno.readLink(c.host!) : c.hardlinkTo ?? "";
      push(encodeEntryHeader({
        name: c.name,
        type,
        mode: st.mode! & 0o7777,
        uid: c.uid ?? st.uid!,
        gid: c.gid ?? st.gid!,
        size,
        mtime: clamp(Math.floor((st.mtime?.getTime() ?? 0) / 1000)),
        linkname,
        devmajor: type === "char" || type === "block" ? major(st.rdev!) : 0,
        devminor: type === "char" || type === "block" ? minor(st.rdev!) : 0,
        xattrs: c.xattrs ?? new Map(),
      }));
      if (type === "file" && size > 0) {
        let n = 0;
        if (early !== undefined) {
          const body = await early;
          n = body.length;
          if (n === size) push(body);
        } else {
          if (buffered > 0) yield flush();
          for await (const chunk of await openFileChunks(c.host!, size)) {
            n += chunk.length;
            if (n > size) break;
            yield chunk;
          }
        }
        if (n !== size) {
          throw new LayerError(`Cannot generate layer: "${c.name}" changed size while it was read`, {
            code: "layer.changed-while-reading",
            context: { entry: c.name, expected: size, actual: n },
          });
        }
        push(bodyPadding(size));
      }
    }
    if (buffered >= FLUSH) yield flush();
  }
  push(endOfArchive());
  yield flush();
}

function streamLayer(changes: AsyncIterable<Change>, opts: GenerateOptions): GeneratedLayer {
  const compression = opts.compression ?? "gzip";
  const tar = digester();
  const blob = digester();
  const workers = opts.workers ?? Math.min(4, navigator.hardwareConcurrency ?? 1);
  const stream = compress(
    ReadableStream.from(tarChunks(changes, opts.sourceDateEpoch)).pipeThrough(tar.stream),
    compression,
    { level: opts.level, workers },
  ).pipeThrough(blob.stream);
  const done = Promise.all([tar.result, blob.result]).then(([t, b]) => ({
    diffId: t.digest,
    digest: b.digest,
    size: b.size,
    mediaType: tarMediaType(compression),
  }));
  done.catch(() => {});
  return { stream, done };
}

/** Used by squashfs unpacking: the entries of a tree as a plain tar stream (overlay whiteouts → OCI). */
export async function upperAsTar(upper: string): Promise<ReadableStream<Uint8Array> | undefined> {
  const g = await generateLayer({ kind: "overlay-upper", upper }, { compression: "none" });
  return g?.stream;
}
