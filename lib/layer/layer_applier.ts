/**
 * Applies the entries of one tar layer to a rootfs, in order: the entry's name is resolved with
 * chroot semantics (`RootResolver`), whatever is at that name is replaced (never written through),
 * and the node is created through the session's `FsOps` with its owner, xattrs, mode and mtime.
 * Whiteouts delete what lower layers put there (`apply`) or become overlayfs whiteouts (`overlay`).
 */
import { LayerError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { type InRootPath, splitName } from "./_secure_join.ts";
import type { TarReader } from "./_tar_reader.ts";
import type { TarEntry } from "./_tar_header.ts";
import type { Skipped } from "./fs_ops.ts";
import type { UnpackSession } from "./unpack_session.ts";

export interface ApplierOptions {
  /** "apply" deletes what whiteouts name; "overlay" turns them into overlayfs whiteouts. */
  readonly whiteouts: "apply" | "overlay";
  /** xattr namespace of overlay opaque markers in "overlay" mode (default "user"). */
  readonly overlayXattrNamespace?: "user" | "trusted";
  /** The layer digest, for messages. */
  readonly digest?: string;
  readonly log: Logger;
}

/** Tar mode bits → permission + setuid/setgid/sticky. */
function perm(mode: number): number {
  return mode & 0o7777;
}

const OPAQUE = ".wh..opq";

export class LayerApplier {
  readonly #s: UnpackSession;
  readonly #opts: ApplierOptions;
  /** Entries this layer created (relative paths): same-layer whiteouts leave them alone. */
  readonly #created = new Set<string>();
  /** Those paths and all their ancestors: opaque whiteouts keep these. */
  readonly #touched = new Set<string>([""]);
  /** Device nodes left out (unprivileged, or mknod refused). */
  skippedDevices = 0;

  constructor(session: UnpackSession, opts: ApplierOptions) {
    this.#s = session;
    this.#opts = opts;
  }

  /** Applies `e`, reading its body from `reader` when it is a regular file. */
  async apply(e: TarEntry, reader: TarReader): Promise<void> {
    const comps = splitName(e.name);
    if (comps.length === 0) return this.#root(e);
    const base = comps[comps.length - 1];
    const parentComps = comps.slice(0, -1);
    if (base.startsWith(".wh.")) return this.#whiteout(e, parentComps, base.slice(4));
    // The hardlink target is resolved before anything at the new name is removed.
    const linkHost = e.type === "hardlink" ? this.#hardlinkTarget(e) : undefined;
    const res = this.#s.resolver;
    const parent = res.dir(parentComps, true, e.name)!;
    const rel = parent === "" ? base : `${parent}/${base}`;
    const host = res.host(rel);
    if (linkHost === host) throw this.#err(e, "hardlink to itself", "layer.bad-hardlink");
    const existing = this.#existing(parent, rel, host);
    if (existing && !(existing.isDirectory && e.type === "dir")) this.#remove(rel, existing);
    this.#touch(rel);
    this.#s.written.add(rel);
    const ops = this.#s.ops;
    switch (e.type) {
      case "dir":
        if (!existing?.isDirectory) ops.mkdir(host, 0o700);
        res.markDir(rel, !existing?.isDirectory);
        this.#ownAndXattrs(e, host, false);
        // Kept writable until the end: a mode-000 directory still receives its children.
        this.#s.deferDir(rel, perm(e.mode), e.mtime);
        return;
      case "file":
        await this.#file(e, host, reader);
        break;
      case "symlink":
        ops.symlink(e.linkname, host);
        this.#ownAndXattrs(e, host, true);
        ops.setTimes(host, e.mtime);
        return;
      case "hardlink":
        ops.link(linkHost!, host);
        return;
      case "fifo":
        ops.mkfifo(host);
        break;
      case "char":
      case "block":
        if (!this.#device(e, host)) return;
        break;
    }
    this.#finishNode(e, host);
  }

  /** The "./" entry: only a directory may describe the root. */
  #root(e: TarEntry): void {
    if (e.type !== "dir") throw this.#err(e, `the root cannot become a ${e.type}`, "layer.root-type");
    this.#ownAndXattrs(e, this.#s.resolver.root, false);
    this.#s.deferDir("", perm(e.mode), e.mtime);
  }

  /** What is at `rel` now; in a directory this session created empty, only names it wrote can be. */
  #existing(parent: string, rel: string, host: InRootPath): Deno.FileInfo | undefined {
    const res = this.#s.resolver;
    if (res.isFresh(parent) && !this.#s.written.has(rel) && !res.isKnownDir(rel)) return undefined;
    return this.#s.ops.lstat(host);
  }

  #err(e: TarEntry, state: string, code: string, extra: Record<string, string> = {}): LayerError {
    return new LayerError(`Cannot unpack entry "${e.name}": ${state}`, {
      code,
      context: { digest: this.#opts.digest, entry: e.name, ...extra },
    });
  }

  #warn(skipped: Skipped, e: TarEntry): void {
    this.#opts.log.warnOnce(`${skipped.key}:${this.#opts.digest ?? ""}`, skipped.message, {
      digest: this.#opts.digest,
      entry: e.name,
      ...(skipped.error === undefined ? {} : { error: skipped.error }),
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

  async #file(e: TarEntry, host: InRootPath, reader: TarReader): Promise<void> {
    using f = this.#s.ops.createFile(host, perm(e.mode));
    for await (let chunk of reader.body()) {
      while (chunk.length > 0) chunk = chunk.subarray(f.writeSync(chunk));
    }
  }

  #finishNode(e: TarEntry, host: InRootPath): void {
    this.#ownAndXattrs(e, host, false);
    if (!(e.type === "file" && !this.#needsChmod(e))) this.#s.ops.chmod(host, perm(e.mode));
    this.#s.ops.setTimes(host, e.mtime);
  }

  /** A fresh file has `mode & ~umask`; chmod only when that is not the tar's mode. */
  #needsChmod(e: TarEntry): boolean {
    return (perm(e.mode) & this.#s.umask) !== 0 || (perm(e.mode) & 0o7000) !== 0;
  }

  #device(e: TarEntry, host: InRootPath): boolean {
    const skipped = this.#s.ops.device(host, e.type === "char" ? "char" : "block", e.devmajor, e.devminor);
    if (skipped === undefined) return true;
    this.skippedDevices++;
    this.#warn(skipped, e);
    return false;
  }

  #hardlinkTarget(e: TarEntry): InRootPath {
    const comps = splitName(e.linkname, "hardlink target");
    if (comps.length === 0) throw this.#err(e, "hardlink to the root", "layer.bad-hardlink");
    const target = this.#s.resolver.leaf(e.linkname, false, "hardlink target");
    const st = target === undefined ? undefined : this.#s.ops.lstat(target.host);
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
    return target!.host;
  }

  #ownAndXattrs(e: TarEntry, host: InRootPath, isSymlink: boolean): void {
    const ops = this.#s.ops;
    const skipped = ops.setOwner(host, e.uid, e.gid, isSymlink);
    if (skipped) this.#warn(skipped, e);
    for (const [rawName, value] of e.xattrs) {
      if (rawName === "security.selinux") continue;
      // Overlay xattrs from a layer must not steer the kernel's overlayfs: escape them as it does.
      const name = rawName.replace(/^(trusted|user)\.overlay\./, "$1.overlay.overlay.");
      try {
        ops.setXattr(host, name, value);
      } catch (err) {
        this.#warn({
          key: `xattr:${name}`,
          message: `Cannot set xattr "${name}": skipped`,
          error: err instanceof Error ? err.message : String(err),
        }, e);
      }
    }
  }

  /** Removes `rel` (any type, recursively, never following symlinks) and forgets cached dirs under it. */
  #remove(rel: string, st: Deno.FileInfo): void {
    this.#s.resolver.forget(rel);
    this.#s.ops.remove(this.#s.resolver.host(rel), st.isDirectory);
  }

  #whiteout(e: TarEntry, parentComps: string[], target: string): void {
    const overlay = this.#opts.whiteouts === "overlay";
    if (
      target === "" || target === "." || target === ".." || (target.startsWith(".wh.") && target !== OPAQUE)
    ) {
      throw this.#err(e, `invalid whiteout target "${target}"`, "layer.bad-whiteout");
    }
    const res = this.#s.resolver;
    const parent = res.dir(parentComps, overlay, e.name);
    if (parent === undefined) return; // nothing below to hide
    if (target === OPAQUE) {
      this.#opaque(parent);
      if (overlay) {
        const ns = this.#opts.overlayXattrNamespace ?? "user";
        this.#s.ops.setXattr(res.host(parent), `${ns}.overlay.opaque`, new TextEncoder().encode("y"));
      }
      return;
    }
    const rel = parent === "" ? target : `${parent}/${target}`;
    if (this.#created.has(rel)) return; // whiteouts only hide lower layers
    const host = res.host(rel);
    const st = this.#s.ops.lstat(host);
    if (st) this.#remove(rel, st);
    if (overlay) {
      this.#s.ops.whiteout(host);
      this.#touch(rel);
      this.#s.written.add(rel);
    }
  }

  /** Deletes what lower layers put under `dir`, keeping what this layer wrote (in any order). */
  #opaque(dir: string): void {
    const res = this.#s.resolver;
    for (const d of this.#s.ops.readDir(res.host(dir))) {
      const rel = dir === "" ? d.name : `${dir}/${d.name}`;
      if (!this.#touched.has(rel)) {
        this.#remove(rel, this.#s.ops.lstat(res.host(rel))!);
      } else if (d.isDirectory && !d.isSymlink) {
        this.#opaque(rel);
      }
    }
  }
}
