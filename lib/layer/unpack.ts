/**
 * Unpacking tar layers into a rootfs: decompress → hash (diff_id) → untar → apply, streaming.
 * Every path goes through `RootResolver` (chroot semantics); metadata calls never follow a
 * symlink: symlinks get lchown/lutimes only, never chmod.
 */
import { lchown, lutimes } from "node:fs/promises";
import { LayerError, StackerError } from "../util/errors.ts";
import { type Logger, silentLogger } from "../util/log.ts";
import { MediaType } from "../oci/types.ts";
import { effectiveIds, lsetxattr, mknod, S_IFBLK, S_IFCHR, S_IFIFO, symlink } from "../ffi/libc.ts";
import { compressionOf, decompress, digester } from "./_compression.ts";
import { type InRootPath, RootResolver, splitName } from "./_secure_join.ts";
import { TarReader } from "./_tar_reader.ts";
import type { TarEntry } from "./_tar_header.ts";
import { extractSquashfs } from "./squashfs.ts";
import { upperAsTar } from "./generate.ts";

/** Opens a fresh stream of the (compressed) layer blob on each call. */
export type LayerOpener = () => Promise<ReadableStream<Uint8Array>> | ReadableStream<Uint8Array>;

/** Resource limits for one layer (and, in `unpackImage`, for the whole image). */
export interface UnpackBudget {
  /** Uncompressed bytes per layer (default 64 GiB). */
  maxBytes?: number;
  /** Entries per layer (default 4,000,000). */
  maxEntries?: number;
  /** Longest entry name in bytes (default 4096). */
  maxPathLength?: number;
  /** Uncompressed bytes over all layers of an image (default 256 GiB; unpackImage only). */
  maxImageBytes?: number;
}

export interface UnpackOptions {
  /** The layer's media type: gzip, zstd, plain tar or squashfs; checked against the magic bytes. */
  mediaType: string;
  /** The blob digest, for error messages only (the blob is verified by whoever opens it). */
  digest?: string;
  /** Expected sha256 of the uncompressed tar; a mismatch fails with `layer.diffid-mismatch`. */
  diffId?: string;
  /** "apply" deletes what whiteouts name; "overlay" turns them into overlayfs whiteouts. */
  whiteouts: "apply" | "overlay";
  /**
   * Unprivileged extraction: tar owners are not applied, device nodes are skipped (one warning per
   * layer). Default: true when the effective uid is not 0 (root of a user namespace counts as root).
   */
  rootless?: boolean;
  /** xattr namespace of overlay opaque markers in "overlay" mode (default "user", as with `userxattr`). */
  overlayXattrNamespace?: "user" | "trusted";
  log?: Logger;
  signal?: AbortSignal;
  budget?: UnpackBudget;
}

export interface UnpackStats {
  /** Entries read from the tar (meta-entries not counted). */
  entries: number;
  /** Uncompressed tar bytes. */
  bytes: number;
  /** sha256 of the uncompressed tar. */
  diffId: string;
  /** Device nodes skipped because extraction was unprivileged. */
  skippedDevices: number;
}

const SMALL_FILE = 1 << 20;
const MAX_PENDING = 32;
const DEFAULTS = {
  maxBytes: 64 * 2 ** 30,
  maxEntries: 4_000_000,
  maxPathLength: 4096,
  maxImageBytes: 256 * 2 ** 30,
};

interface DirMeta {
  mode: number;
  mtime: number;
}

/** State that outlives one layer when several are applied in a row. */
class Session {
  readonly resolver: RootResolver;
  readonly rootless: boolean;
  readonly uid: number;
  readonly gid: number;
  readonly umask: number;
  /** Directory mode/mtime, applied deepest-first once everything inside is written. */
  readonly dirs = new Map<string, DirMeta>();
  /** Every name this session created (removed names may linger: they only cost an lstat). */
  readonly written = new Set<string>();
  imageBytes = 0;

  constructor(rootfs: string, rootless: boolean | undefined) {
    this.resolver = new RootResolver(rootfs);
    const ids = effectiveIds();
    this.uid = ids.uid;
    this.gid = ids.gid;
    this.rootless = rootless ?? ids.uid !== 0;
    this.umask = currentUmask();
  }

  /** Creates `rootfs` when missing; refuses a root that is not a real directory. */
  static async open(rootfs: string, rootless: boolean | undefined): Promise<Session> {
    await Deno.mkdir(rootfs, { recursive: true, mode: 0o755 });
    const st = await Deno.lstat(rootfs);
    if (!st.isDirectory) {
      throw new LayerError(`Cannot unpack into "${rootfs}": not a directory`, {
        code: "layer.root-type",
        context: { rootfs },
      });
    }
    return new Session(rootfs, rootless);
  }

  /** Applies deferred directory metadata; only to directories still known to be real. */
  async finish(): Promise<void> {
    const rels = [...this.dirs.keys()].sort((a, b) => depth(b) - depth(a));
    for (const rel of rels) {
      if (!this.resolver.isKnownDir(rel)) continue;
      const m = this.dirs.get(rel)!;
      const host = this.resolver.host(rel);
      await Deno.chmod(host, m.mode);
      await Deno.utime(host, m.mtime, m.mtime);
    }
    this.dirs.clear();
  }
}

function depth(rel: string): number {
  let n = 0;
  for (let i = 0; i < rel.length; i++) if (rel.charCodeAt(i) === 47) n++;
  return rel === "" ? -1 : n;
}

/** The xattr umoci --rootless uses to keep a file's owner (protobuf rootlesscontainers.Resource). */
export const ROOTLESS_XATTR = "user.rootlesscontainers";
const NOOP_ID = 0xffffffff;

function varint(v: number, out: number[]): void {
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** Resource{uid=1, gid=2}; 0 is written as NoopID ("the owner of the file"), as umoci does. */
export function encodeRootlessOwner(uid: number, gid: number): Uint8Array {
  const out: number[] = [0x08];
  varint(uid === 0 ? NOOP_ID : uid, out);
  out.push(0x10);
  varint(gid === 0 ? NOOP_ID : gid, out);
  return new Uint8Array(out);
}

/** Tar mode bits → permission + setuid/setgid/sticky. */
function perm(mode: number): number {
  return mode & 0o7777;
}

/**
 * Applies one layer to `rootfs`, streaming. Guarantees: nothing outside `rootfs` is created,
 * changed or deleted (entry names, hardlink targets, whiteouts and parents resolve with chroot
 * semantics; `..` names are refused); the uncompressed bytes are hashed and compared with
 * `opts.diffId` at the end. Throws `LayerError` naming the layer digest and the entry. On any
 * error the rootfs is partly written and must be discarded by the caller.
 */
/** The process umask, or "everything" (always chmod) where reading it is not permitted. */
function currentUmask(): number {
  try {
    return Deno.umask();
  } catch {
    return 0o7777;
  }
}

export async function unpackLayer(
  open: LayerOpener,
  rootfs: string,
  opts: UnpackOptions,
): Promise<UnpackStats> {
  const session = await Session.open(rootfs, opts.rootless);
  let stats: UnpackStats;
  try {
    stats = await applyLayer(open, session, opts);
  } catch (e) {
    await session.finish().catch(() => {});
    throw e;
  }
  await session.finish();
  return stats;
}

/** One layer of an image for `unpackImage`. */
export interface ImageLayer {
  open: LayerOpener;
  mediaType: string;
  digest?: string;
  diffId?: string;
}

/**
 * Applies `layers` in order to `rootfs`. Directory modes and mtimes are applied once at the end,
 * so a mode-000 directory of one layer can still receive files from the next when unprivileged.
 */
export async function unpackImage(
  layers: readonly ImageLayer[],
  rootfs: string,
  opts: Omit<UnpackOptions, "mediaType" | "digest" | "diffId">,
): Promise<UnpackStats[]> {
  const session = await Session.open(rootfs, opts.rootless);
  const out: UnpackStats[] = [];
  try {
    for (const l of layers) {
      out.push(
        await applyLayer(l.open, session, {
          ...opts,
          mediaType: l.mediaType,
          digest: l.digest,
          diffId: l.diffId,
        }),
      );
    }
  } catch (e) {
    await session.finish().catch(() => {});
    throw e;
  }
  await session.finish();
  return out;
}

async function applyLayer(open: LayerOpener, session: Session, opts: UnpackOptions): Promise<UnpackStats> {
  const log = opts.log ?? silentLogger;
  const budget = { ...DEFAULTS, ...opts.budget };
  const ctx = { digest: opts.digest, mediaType: opts.mediaType };
  if (opts.mediaType.startsWith(MediaType.squashfs)) {
    return await applySquashfs(open, session, opts);
  }
  const compression = compressionOf(opts.mediaType);
  if (compression === undefined) {
    throw new LayerError(`Cannot unpack layer: unsupported media type "${opts.mediaType}"`, {
      code: "layer.media-type",
      context: ctx,
    });
  }
  const remaining = Math.min(budget.maxBytes, budget.maxImageBytes - session.imageBytes);
  const hash = digester(remaining, ctx);
  const tarStream = decompress(await open(), compression, ctx).pipeThrough(hash.stream);
  const reader = new TarReader(tarStream, { maxPathLength: budget.maxPathLength });
  const layer = new LayerApplier(session, opts, log);
  let entries = 0;
  let entry: TarEntry | null = null;
  try {
    while ((entry = await reader.next()) !== null) {
      opts.signal?.throwIfAborted();
      if (++entries > budget.maxEntries) {
        throw new LayerError(`Cannot unpack layer: more than ${budget.maxEntries} entries`, {
          code: "layer.budget",
          context: ctx,
        });
      }
      await layer.apply(entry, reader);
    }
    await layer.flush();
  } catch (e) {
    await layer.flush().catch(() => {});
    await reader.cancel(e);
    throw wrap(e, opts, entry?.name);
  }
  const { digest, size } = await hash.result;
  session.imageBytes += size;
  if (opts.diffId !== undefined && opts.diffId !== digest) {
    throw new LayerError(
      `Cannot unpack layer: diff_id mismatch, expected "${opts.diffId}", got "${digest}"`,
      {
        code: "layer.diffid-mismatch",
        context: { ...ctx, expected: opts.diffId, actual: digest },
      },
    );
  }
  return { entries, bytes: size, diffId: digest, skippedDevices: layer.skippedDevices };
}

/**
 * squashfs layers hold overlay-style whiteouts: extract with unsquashfs to a temp tree, then apply
 * that tree as a tar through the same confined path as any other layer. The diff_id of a squashfs
 * layer is the digest of the blob.
 */
async function applySquashfs(open: LayerOpener, session: Session, opts: UnpackOptions): Promise<UnpackStats> {
  const tmp = await Deno.makeTempDir({ prefix: "stacker-sqfs-tree-" });
  try {
    const blob = await extractSquashfs(await open(), `${tmp}/tree`);
    if (opts.diffId !== undefined && opts.diffId !== blob.digest) {
      throw new LayerError(
        `Cannot unpack layer: diff_id mismatch, expected "${opts.diffId}", got "${blob.digest}"`,
        {
          code: "layer.diffid-mismatch",
          context: { digest: opts.digest, expected: opts.diffId, actual: blob.digest },
        },
      );
    }
    const tar = await upperAsTar(`${tmp}/tree`);
    if (tar === undefined) return { entries: 0, bytes: blob.size, diffId: blob.digest, skippedDevices: 0 };
    const stats = await applyLayer(() => tar, session, {
      ...opts,
      mediaType: MediaType.ociLayer,
      diffId: undefined,
    });
    return { ...stats, bytes: blob.size, diffId: blob.digest };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

function wrap(e: unknown, opts: UnpackOptions, entry: string | undefined): unknown {
  const context = { digest: opts.digest, ...(entry === undefined ? {} : { entry }) };
  if (e instanceof StackerError) {
    if (e instanceof LayerError && e.context.digest !== undefined) return e;
    return new LayerError(e.message, {
      code: e.code,
      context: { ...e.context, ...context },
      cause: e.cause ?? e,
    });
  }
  if (e instanceof DOMException && e.name === "AbortError") return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new LayerError(`Cannot unpack entry "${entry ?? "?"}": ${msg}`, {
    code: "layer.write",
    context,
    cause: e,
  });
}

/** Applies the entries of one layer. */
class LayerApplier {
  readonly #s: Session;
  readonly #opts: UnpackOptions;
  readonly #log: Logger;
  /** Entries this layer created (relative paths): same-layer whiteouts leave them alone. */
  readonly #created = new Set<string>();
  /** Those paths and all their ancestors: opaque whiteouts keep these. */
  readonly #touched = new Set<string>([""]);
  skippedDevices = 0;
  readonly #pending = new Map<string, Promise<void>>();
  #failed: unknown;

  constructor(session: Session, opts: UnpackOptions, log: Logger) {
    this.#s = session;
    this.#opts = opts;
    this.#log = log;
  }

  #err(e: TarEntry, state: string, code: string, extra: Record<string, string> = {}): LayerError {
    return new LayerError(`Cannot unpack entry "${e.name}": ${state}`, {
      code,
      context: { digest: this.#opts.digest, entry: e.name, ...extra },
    });
  }

  #touch(rel: string): void {
    this.#created.add(rel);
    let r = rel;
    while (!this.#touched.has(r)) {
      this.#touched.add(r);
      const i = r.lastIndexOf("/");
      r = i < 0 ? "" : r.slice(0, i);
    }
  }

  async apply(e: TarEntry, reader: TarReader): Promise<void> {
    const comps = splitName(e.name);
    const res = this.#s.resolver;
    if (comps.length === 0) {
      if (e.type !== "dir") throw this.#err(e, `the root cannot become a ${e.type}`, "layer.root-type");
      await this.#ownAndXattrs(e, res.root, false);
      this.#s.dirs.set("", { mode: perm(e.mode), mtime: e.mtime });
      return;
    }
    const base = comps[comps.length - 1];
    const parentComps = comps.slice(0, -1);
    if (base.startsWith(".wh.")) return await this.#whiteout(e, parentComps, base.slice(4));

    // Resolve the hardlink target before anything at the new name is removed.
    let linkHost: InRootPath | undefined;
    if (e.type === "hardlink") {
      await this.flush();
      linkHost = await this.#hardlinkTarget(e);
    }

    // A parent not known to be a real directory is looked up on disk: background writes must
    // have landed first (a pending file could be that parent).
    if (!res.isKnownDir(parentComps.join("/"))) await this.flush();
    const parent = (await res.dir(parentComps, true, e.name))!;
    const rel = parent === "" ? base : `${parent}/${base}`;
    const host = res.host(rel);
    if (linkHost === host) throw this.#err(e, "hardlink to itself", "layer.bad-hardlink");
    if (this.#pending.has(rel)) await this.flush();
    // In a directory this session created, only names we wrote can exist: no lstat needed.
    const known = res.isFresh(parent) && !this.#s.written.has(rel) && !res.isKnownDir(rel);
    const existing = known ? undefined : await lstatOrUndefined(host);
    if (existing && !(existing.isDirectory && e.type === "dir")) {
      await this.flush();
      await this.#remove(rel, existing);
    }
    this.#touch(rel);
    this.#s.written.add(rel);
    switch (e.type) {
      case "dir":
        if (!existing?.isDirectory) {
          await Deno.mkdir(host, { mode: 0o700 });
          res.markDir(rel, true);
        } else res.markDir(rel, false);
        await this.#ownAndXattrs(e, host, false);
        // Kept writable until the end: a mode-000 directory still receives its children.
        this.#s.dirs.set(rel, { mode: perm(e.mode), mtime: e.mtime });
        return;
      case "file":
        if (e.size <= SMALL_FILE) {
          // Small files are written in the background, a bounded number at a time, so that
          // decompression and parsing overlap the file system calls.
          const body = await reader.readBody();
          if (this.#pending.size >= MAX_PENDING) await Promise.race(this.#pending.values());
          const task = this.#smallFile(e, host, body).catch((err) => {
            this.#failed ??= wrap(err, this.#opts, e.name);
          }).finally(() => this.#pending.delete(rel));
          this.#pending.set(rel, task);
          if (this.#failed) throw this.#failed;
          return;
        }
        await this.#bigFile(e, host, reader);
        break;
      case "symlink":
        symlink(e.linkname, host);
        await this.#ownAndXattrs(e, host, true);
        await lutimes(host, e.mtime, e.mtime);
        return;
      case "hardlink":
        await Deno.link(linkHost!, host);
        return;
      case "fifo":
        mknod(host, S_IFIFO, 0o600);
        break;
      case "char":
      case "block":
        if (!this.#device(e, host)) return;
        break;
    }
    await this.#finishNode(e, host);
  }

  /** Waits for background writes; throws the first error one of them hit. */
  async flush(): Promise<void> {
    while (this.#pending.size > 0) await Promise.all(this.#pending.values());
    if (this.#failed) throw this.#failed;
  }

  async #finishNode(e: TarEntry, host: string): Promise<void> {
    await this.#ownAndXattrs(e, host, false);
    if (!(e.type === "file" && !this.#needsChmod(e))) await Deno.chmod(host, perm(e.mode));
    await Deno.utime(host, e.mtime, e.mtime);
  }

  async #smallFile(e: TarEntry, host: string, body: Uint8Array): Promise<void> {
    // Deno.open passes the mode to open(2); Deno.writeFile would add an fchmod per file.
    {
      using f = await Deno.open(host, { createNew: true, write: true, mode: perm(e.mode) & 0o777 });
      let chunk = body;
      while (chunk.length > 0) chunk = chunk.subarray(await f.write(chunk));
    }
    await this.#finishNode(e, host);
  }

  async #bigFile(e: TarEntry, host: string, reader: TarReader): Promise<void> {
    using f = await Deno.open(host, { createNew: true, write: true, mode: perm(e.mode) & 0o777 });
    for await (let chunk of reader.body()) {
      while (chunk.length > 0) chunk = chunk.subarray(await f.write(chunk));
    }
  }

  /** A fresh file has `mode & ~umask`; chmod only when that is not the tar's mode. */
  #needsChmod(e: TarEntry): boolean {
    return (perm(e.mode) & this.#s.umask) !== 0 || (perm(e.mode) & 0o7000) !== 0;
  }

  #device(e: TarEntry, host: string): boolean {
    if (this.#s.rootless) {
      this.skippedDevices++;
      this.#log.warnOnce(
        `devices:${this.#opts.digest ?? host}`,
        "Skipping device nodes: unpacking without privilege",
        { digest: this.#opts.digest, entry: e.name },
      );
      return false;
    }
    try {
      mknod(host, e.type === "char" ? S_IFCHR : S_IFBLK, 0o600, e.devmajor, e.devminor);
      return true;
    } catch (err) {
      // Root of a user namespace may not create devices: a placeholder is better than a failed image.
      this.skippedDevices++;
      this.#log.warnOnce(
        `devices:${this.#opts.digest ?? host}`,
        "Skipping device nodes: mknod not permitted",
        {
          digest: this.#opts.digest,
          entry: e.name,
          error: err instanceof Error ? err.message : String(err),
        },
      );
      return false;
    }
  }

  async #hardlinkTarget(e: TarEntry): Promise<InRootPath> {
    const res = this.#s.resolver;
    const comps = splitName(e.linkname, "hardlink target");
    if (comps.length === 0) throw this.#err(e, "hardlink to the root", "layer.bad-hardlink");
    const parent = await res.dir(comps.slice(0, -1), false, e.linkname);
    const rel = parent === undefined
      ? undefined
      : parent === ""
      ? comps.at(-1)!
      : `${parent}/${comps.at(-1)}`;
    const st = rel === undefined ? undefined : await lstatOrUndefined(res.host(rel));
    if (st === undefined) {
      throw this.#err(e, `hardlink target "${e.linkname}" does not exist`, "layer.bad-hardlink", {
        target: e.linkname,
      });
    }
    if (st.isDirectory) {
      throw this.#err(e, `hardlink target "${e.linkname}" is a directory`, "layer.bad-hardlink", {
        target: e.linkname,
      });
    }
    return res.host(rel!);
  }

  async #ownAndXattrs(e: TarEntry, host: string, isLink: boolean): Promise<void> {
    if (!this.#s.rootless && (e.uid !== this.#s.uid || e.gid !== this.#s.gid)) {
      if (isLink) await lchown(host, e.uid, e.gid);
      else await Deno.chown(host, e.uid, e.gid);
    } else if (this.#s.rootless && !isLink && (e.uid !== 0 || e.gid !== 0)) {
      // As umoci --rootless does: keep the tar's owner where a later rootless repack can find it.
      try {
        lsetxattr(host, ROOTLESS_XATTR, encodeRootlessOwner(e.uid, e.gid));
      } catch (err) {
        this.#log.warnOnce(`xattr:${ROOTLESS_XATTR}`, `Cannot record owner in "${ROOTLESS_XATTR}": skipped`, {
          entry: e.name,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
    for (const [rawName, value] of e.xattrs) {
      if (rawName === "security.selinux") continue;
      // Overlay xattrs from a layer must not steer the kernel's overlayfs: escape them as it does.
      const name = rawName.replace(/^(trusted|user)\.overlay\./, "$1.overlay.overlay.");
      try {
        lsetxattr(host, name, value);
      } catch (err) {
        this.#log.warnOnce(`xattr:${name}:${this.#opts.digest}`, `Cannot set xattr "${name}": skipped`, {
          digest: this.#opts.digest,
          entry: e.name,
          error: err instanceof Error ? err.message : String(err),
        });
      }
    }
  }

  /** Removes `rel` (any type, recursively, never following symlinks) and forgets cached dirs under it. */
  async #remove(rel: string, st: Deno.FileInfo): Promise<void> {
    const host = this.#s.resolver.host(rel);
    this.#s.resolver.forget(rel);
    if (!st.isDirectory) return await Deno.remove(host);
    try {
      await Deno.remove(host, { recursive: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.PermissionDenied)) throw e;
      // Unprivileged: mode-000 directories must be opened up before their contents can go.
      await openUp(host);
      await Deno.remove(host, { recursive: true });
    }
  }

  async #whiteout(e: TarEntry, parentComps: string[], target: string): Promise<void> {
    await this.flush();
    const overlay = this.#opts.whiteouts === "overlay";
    if (
      target === "" || target === "." || target === ".." ||
      (target.startsWith(".wh.") && target !== ".wh..opq")
    ) {
      throw this.#err(e, `invalid whiteout target "${target}"`, "layer.bad-whiteout");
    }
    const res = this.#s.resolver;
    const parent = await res.dir(parentComps, overlay, e.name);
    if (parent === undefined) return; // nothing below to hide
    if (target === ".wh..opq") {
      await this.#opaque(parent);
      if (overlay) {
        lsetxattr(
          res.host(parent),
          `${this.#opts.overlayXattrNamespace ?? "user"}.overlay.opaque`,
          new TextEncoder().encode("y"),
        );
      }
      return;
    }
    const rel = parent === "" ? target : `${parent}/${target}`;
    if (this.#created.has(rel)) return; // whiteouts only hide lower layers
    const host = res.host(rel);
    const st = await lstatOrUndefined(host);
    if (st) await this.#remove(rel, st);
    if (overlay) {
      mknod(host, S_IFCHR, 0, 0, 0);
      this.#touch(rel);
      this.#s.written.add(rel);
    }
  }

  /** Deletes what lower layers put under `dir`, keeping what this layer wrote (in any order). */
  async #opaque(dir: string): Promise<void> {
    const res = this.#s.resolver;
    for await (const d of Deno.readDir(res.host(dir))) {
      const rel = dir === "" ? d.name : `${dir}/${d.name}`;
      if (!this.#touched.has(rel)) {
        await this.#remove(rel, await Deno.lstat(res.host(rel)));
      } else if (d.isDirectory && !d.isSymlink) {
        await this.#opaque(rel);
      }
    }
  }
}

async function lstatOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** chmod u+rwx on every directory under `dir` (never through symlinks), so it can be removed. */
async function openUp(dir: string): Promise<void> {
  await Deno.chmod(dir, 0o700);
  for await (const d of Deno.readDir(dir)) {
    if (d.isDirectory && !d.isSymlink) await openUp(`${dir}/${d.name}`);
  }
}
