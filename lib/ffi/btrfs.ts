/**
 * btrfs subvolume operations through ioctls over the libc FFI seam, so no btrfs-progs is needed at
 * run time. Numbers and struct layouts: RUNTIME-NOTES.md §5. Every call opens the parent (or the
 * subvolume) with O_DIRECTORY, because Deno exposes no raw fds, and closes it before returning.
 */
import { closeFd, Errno, ioctl, O_DIRECTORY, O_RDONLY, openFd } from "./libc.ts";
import { OsError } from "../util/errors.ts";

const SNAP_CREATE_V2 = 0x50009417n;
const SUBVOL_CREATE_V2 = 0x50009418n;
const SNAP_DESTROY_V2 = 0x5000943fn;
const SUBVOL_GETFLAGS = 0x80089419n;
const SUBVOL_SETFLAGS = 0x4008941an;

/** Subvolume flag: read-only. */
export const SUBVOL_RDONLY = 2n;
/** The inode number of every subvolume root on btrfs. */
const SUBVOL_ROOT_INO = 256;
const NAME_OFFSET = 56;
const NAME_MAX = 4039;

function split(path: string): { parent: string; name: string } {
  const p = path.replace(/\/+$/, "");
  const i = p.lastIndexOf("/");
  const name = p.slice(i + 1);
  if (!name || name === "." || name === ".." || new TextEncoder().encode(name).length > NAME_MAX) {
    throw new OsError(`Cannot use "${path}" as a subvolume path: bad last component`, {
      code: "btrfs.bad-path",
      context: { path },
    });
  }
  return { parent: i < 0 ? "." : i === 0 ? "/" : p.slice(0, i), name };
}

function volArgsV2(name: string, fd = 0, flags = 0n): Uint8Array<ArrayBuffer> {
  const buf = new Uint8Array(4096);
  const dv = new DataView(buf.buffer);
  dv.setBigInt64(0, BigInt(fd), true);
  dv.setBigUint64(16, flags, true);
  buf.set(new TextEncoder().encode(name), NAME_OFFSET);
  return buf;
}

function withDir<T>(path: string, fn: (fd: number) => T): T {
  const fd = openFd(path, O_RDONLY | O_DIRECTORY);
  try {
    return fn(fd);
  } finally {
    closeFd(fd);
  }
}

/** Creates an empty subvolume at `path` (its parent must exist on btrfs). */
export function createSubvolume(path: string): void {
  const { parent, name } = split(path);
  withDir(parent, (fd) => ioctl(fd, SUBVOL_CREATE_V2, volArgsV2(name), `create subvolume "${path}"`));
}

/** Snapshots subvolume `src` to the new path `dest`, read-only or writable. */
export function snapshot(src: string, dest: string, opts: { readonly: boolean }): void {
  const { parent, name } = split(dest);
  withDir(src, (srcFd) =>
    withDir(parent, (fd) =>
      ioctl(
        fd,
        SNAP_CREATE_V2,
        volArgsV2(name, srcFd, opts.readonly ? SUBVOL_RDONLY : 0n),
        `snapshot "${src}" to "${dest}"`,
      )));
}

export function getFlags(path: string): bigint {
  return withDir(path, (fd) => {
    const buf = new Uint8Array(8);
    ioctl(fd, SUBVOL_GETFLAGS, buf, `get the flags of subvolume "${path}"`);
    return new DataView(buf.buffer).getBigUint64(0, true);
  });
}

export function setFlags(path: string, flags: bigint): void {
  withDir(path, (fd) => {
    const buf = new Uint8Array(8);
    new DataView(buf.buffer).setBigUint64(0, flags, true);
    ioctl(fd, SUBVOL_SETFLAGS, buf, `set the flags of subvolume "${path}"`);
  });
}

/** Marks a subvolume read-only or writable. */
export function setReadonly(path: string, readonly: boolean): void {
  const flags = getFlags(path);
  const next = readonly ? flags | SUBVOL_RDONLY : flags & ~SUBVOL_RDONLY;
  if (next !== flags) setFlags(path, next);
}

/** Whether `path` is the root of a btrfs subvolume (inode 256 and the flags ioctl answers). */
export function isSubvolume(path: string): boolean {
  let st: Deno.FileInfo;
  try {
    st = Deno.lstatSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  if (!st.isDirectory || st.ino !== SUBVOL_ROOT_INO) return false;
  try {
    getFlags(path);
    return true;
  } catch (e) {
    if (e instanceof OsError && (e.errno === Errno.ENOTSUP || e.errno === 25 /* ENOTTY */)) return false;
    throw e;
  }
}

/**
 * Destroys subvolume `path` with its contents. A non-root owner may not destroy a read-only
 * snapshot (EROFS), so the flag is cleared first; root skips nothing by doing the same.
 */
export function destroySubvolume(path: string): void {
  if (getFlags(path) & SUBVOL_RDONLY) setReadonly(path, false);
  const { parent, name } = split(path);
  withDir(parent, (fd) => ioctl(fd, SNAP_DESTROY_V2, volArgsV2(name), `destroy subvolume "${path}"`));
}
