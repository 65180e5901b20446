/**
 * Filesystem operations on host paths inside a rootfs, as the layer engine performs them: the one
 * place where unpacking and packing touch a rootfs, and the one place that differs between a
 * privileged and an unprivileged session. The implementation is chosen once per session
 * (`fsOpsFor`); no caller asks "am I root?":
 *
 * - root: tar owners are applied with chown, device nodes are created;
 * - rootless: owners are recorded in the `user.rootlesscontainers` xattr (as umoci --rootless
 *   does) and read back from it when packing, device nodes are skipped.
 *
 * Every path is an `InRootPath`, whose directories `RootResolver` verified. No call follows a
 * final symlink: metadata calls use the l-variants, and new names are created exclusively (an
 * existing name, symlink included, fails). Calls are synchronous: a lookup or a metadata change
 * is cheaper inline than as a hop through the runtime's thread pool, and a layer is applied in
 * order anyway.
 */
import {
  effectiveIds,
  lchown,
  lsetxattr,
  lutimes,
  mknod,
  S_IFBLK,
  S_IFCHR,
  S_IFIFO,
  symlink,
} from "../ffi/libc.ts";
import type { InRootPath } from "./_secure_join.ts";
import { decodeRootlessOwner, encodeRootlessOwner, ROOTLESS_XATTR } from "./rootless_owner.ts";

/** An operation that was left out rather than failed: what to warn about, once per `key`. */
export interface Skipped {
  readonly key: string;
  readonly message: string;
  readonly error?: string;
}

export interface FsOps {
  /** True for the unprivileged implementation (for messages and statistics). */
  readonly rootless: boolean;
  /** lstat, or undefined when the name does not exist. */
  lstat(path: InRootPath): Deno.FileInfo | undefined;
  /** The names in a directory, with their types as the directory reports them. */
  readDir(path: InRootPath): Deno.DirEntry[];
  mkdir(path: InRootPath, mode: number): void;
  /** A new regular file opened for writing, its permission bits (umask applied) set at creation. */
  createFile(path: InRootPath, mode: number): Deno.FsFile;
  symlink(target: string, path: InRootPath): void;
  link(existing: InRootPath, path: InRootPath): void;
  mkfifo(path: InRootPath): void;
  /** An overlayfs whiteout (a 0/0 character device). */
  whiteout(path: InRootPath): void;
  /** A device node, or what kept it from being created. */
  device(path: InRootPath, type: "char" | "block", major: number, minor: number): Skipped | undefined;
  /** Gives `path` (not what a symlink points at) the owner a layer names, or says why not. */
  setOwner(path: InRootPath, uid: number, gid: number, isSymlink: boolean): Skipped | undefined;
  setXattr(path: InRootPath, name: string, value: Uint8Array): void;
  /** chmod; never called on a symlink. */
  chmod(path: InRootPath, mode: number): void;
  /** Sets atime and mtime (seconds) of `path` itself. */
  setTimes(path: InRootPath, mtime: number): void;
  /** Removes a name; a directory with everything under it, never following symlinks. */
  remove(path: InRootPath, isDirectory: boolean): void;
  /**
   * The owner a packed layer gives a node: its own ids (root), or the owner an unprivileged
   * unpack recorded in `recorded` (the `user.rootlesscontainers` value), else 0:0.
   */
  tarOwner(st: Deno.FileInfo, recorded: Uint8Array | undefined): { uid: number; gid: number };
}

/** What both implementations share. */
abstract class HostFsOps implements FsOps {
  abstract readonly rootless: boolean;
  abstract device(
    path: InRootPath,
    type: "char" | "block",
    major: number,
    minor: number,
  ): Skipped | undefined;
  abstract setOwner(path: InRootPath, uid: number, gid: number, isSymlink: boolean): Skipped | undefined;
  abstract tarOwner(st: Deno.FileInfo, recorded: Uint8Array | undefined): { uid: number; gid: number };

  lstat(path: InRootPath): Deno.FileInfo | undefined {
    try {
      return Deno.lstatSync(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return undefined;
      throw e;
    }
  }

  readDir(path: InRootPath): Deno.DirEntry[] {
    return [...Deno.readDirSync(path)];
  }

  mkdir(path: InRootPath, mode: number): void {
    Deno.mkdirSync(path, { mode });
  }

  createFile(path: InRootPath, mode: number): Deno.FsFile {
    // The mode goes to open(2): no extra fchmod when the umask leaves it as it is.
    return Deno.openSync(path, { createNew: true, write: true, mode: mode & 0o777 });
  }

  symlink(target: string, path: InRootPath): void {
    symlink(target, path);
  }

  link(existing: InRootPath, path: InRootPath): void {
    Deno.linkSync(existing, path);
  }

  mkfifo(path: InRootPath): void {
    mknod(path, S_IFIFO, 0o600);
  }

  whiteout(path: InRootPath): void {
    mknod(path, S_IFCHR, 0, 0, 0);
  }

  setXattr(path: InRootPath, name: string, value: Uint8Array): void {
    lsetxattr(path, name, value);
  }

  chmod(path: InRootPath, mode: number): void {
    Deno.chmodSync(path, mode);
  }

  setTimes(path: InRootPath, mtime: number): void {
    lutimes(path, mtime, mtime);
  }

  remove(path: InRootPath, isDirectory: boolean): void {
    if (!isDirectory) return Deno.removeSync(path);
    try {
      Deno.removeSync(path, { recursive: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.PermissionDenied)) throw e;
      // A mode-000 directory (of an earlier layer) must be opened up before its contents can go.
      openUp(path);
      Deno.removeSync(path, { recursive: true });
    }
  }
}

/** chmod u+rwx on every directory under `dir` (never through symlinks), so it can be removed. */
function openUp(dir: string): void {
  Deno.chmodSync(dir, 0o700);
  for (const d of Deno.readDirSync(dir)) {
    if (d.isDirectory && !d.isSymlink) openUp(`${dir}/${d.name}`);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Privileged: owners applied, devices created (where the kernel lets us). */
class RootFsOps extends HostFsOps {
  readonly rootless = false;
  readonly #ids = effectiveIds();

  device(path: InRootPath, type: "char" | "block", major: number, minor: number): Skipped | undefined {
    try {
      mknod(path, type === "char" ? S_IFCHR : S_IFBLK, 0o600, major, minor);
      return undefined;
    } catch (err) {
      // Root of a user namespace may not create devices: a missing node beats a failed image.
      return { key: "devices", message: "Skipping device nodes: mknod not permitted", error: message(err) };
    }
  }

  setOwner(path: InRootPath, uid: number, gid: number, isSymlink: boolean): Skipped | undefined {
    if (uid === this.#ids.uid && gid === this.#ids.gid) return undefined;
    if (isSymlink) lchown(path, uid, gid);
    else Deno.chownSync(path, uid, gid);
    return undefined;
  }

  tarOwner(st: Deno.FileInfo): { uid: number; gid: number } {
    return { uid: st.uid!, gid: st.gid! };
  }
}

/** Unprivileged: every file is ours; the owner a layer names is recorded, devices are skipped. */
class RootlessFsOps extends HostFsOps {
  readonly rootless = true;

  device(): Skipped {
    return { key: "devices", message: "Skipping device nodes: unpacking without privilege" };
  }

  setOwner(path: InRootPath, uid: number, gid: number, isSymlink: boolean): Skipped | undefined {
    // Symlinks cannot carry user.* xattrs; 0:0 is what an unrecorded file stands for anyway.
    if (isSymlink || (uid === 0 && gid === 0)) return undefined;
    try {
      lsetxattr(path, ROOTLESS_XATTR, encodeRootlessOwner(uid, gid));
      return undefined;
    } catch (err) {
      return {
        key: `xattr:${ROOTLESS_XATTR}`,
        message: `Cannot record owner in "${ROOTLESS_XATTR}": skipped`,
        error: message(err),
      };
    }
  }

  tarOwner(_st: Deno.FileInfo, recorded: Uint8Array | undefined): { uid: number; gid: number } {
    // Files we own stand for root's; the recorded owner, when there is one, wins.
    return decodeRootlessOwner(recorded);
  }
}

/**
 * The operations for one session. `rootless` defaults to "the effective uid is not 0" (root of a
 * user namespace counts as root).
 */
export function fsOpsFor(rootless?: boolean): FsOps {
  return (rootless ?? effectiveIds().uid !== 0) ? new RootlessFsOps() : new RootFsOps();
}
