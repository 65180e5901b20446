/**
 * The *at(2) calls on raw fds: every operation is relative to a directory this process already
 * holds open, so nobody can redirect it by swapping a path component for a symlink between a check
 * and the use (Deno's file API is path-based and has none of them). Failures become `OsError`
 * carrying errno.
 */
import { OsError } from "../util/errors.ts";
import { cstr, lastErrno, openLibc, strerror } from "./libc.ts";

const symbols = {
  // int openat(int dirfd, const char *path, int flags, mode_t mode)
  openat: { parameters: ["i32", "buffer", "i32", "u32"], result: "i32" },
  // int mkdirat(int dirfd, const char *path, mode_t mode)
  mkdirat: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  // int unlinkat(int dirfd, const char *path, int flags)
  unlinkat: { parameters: ["i32", "buffer", "i32"], result: "i32" },
  // ssize_t readlinkat(int dirfd, const char *path, char *buf, size_t size)
  readlinkat: { parameters: ["i32", "buffer", "buffer", "usize"], result: "isize" },
  // int statx(int dirfd, const char *path, int flags, unsigned int mask, struct statx *buf)
  statx: { parameters: ["i32", "buffer", "i32", "u32", "buffer"], result: "i32" },
  // int fchown(int fd, uid_t owner, gid_t group)
  fchown: { parameters: ["i32", "u32", "u32"], result: "i32" },
  // int fchmod(int fd, mode_t mode)
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  // int ftruncate(int fd, off_t length)
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
  // ssize_t write(int fd, const void *buf, size_t count)
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  // int close(int fd)
  close: { parameters: ["i32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let lib: Deno.DynamicLibrary<typeof symbols>["symbols"] | undefined;
function libc(): Deno.DynamicLibrary<typeof symbols>["symbols"] {
  return lib ??= openLibc(symbols);
}

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;
export const O_PATH = 0o10000000;
const O_CLOEXEC = 0o2000000;

function fail(what: string, path: string): never {
  const errno = lastErrno();
  throw new OsError(`Cannot ${what} "${path}": ${strerror(errno)}`, {
    code: "os.syscall",
    errno,
    context: { path, errno },
  });
}

/** openat(2) with O_CLOEXEC added; the caller closes the fd (`closeAt`). `label` names it in errors. */
export function openAt(dirFd: number, name: string, flags: number, mode = 0, label = name): number {
  const fd = libc().openat(dirFd, cstr(name), flags | O_CLOEXEC, mode);
  if (fd < 0) fail("open", label);
  return fd;
}

export function closeAt(fd: number): void {
  libc().close(fd);
}

/** mkdirat(2). */
export function mkdirAt(dirFd: number, name: string, mode: number, label = name): void {
  if (libc().mkdirat(dirFd, cstr(name), mode) < 0) fail("create directory", label);
}

/** unlinkat(2): a directory (empty) when `dir`, else any non-directory, a symlink itself included. */
export function unlinkAt(dirFd: number, name: string, dir: boolean, label = name): void {
  if (libc().unlinkat(dirFd, cstr(name), dir ? AT_REMOVEDIR : 0) < 0) fail("remove", label);
}

/** readlinkat(2); `name` "" reads the link an O_PATH|O_NOFOLLOW fd refers to. */
export function readlinkAt(dirFd: number, name: string, label = name): string {
  const buf = new Uint8Array(4096);
  const n = Number(libc().readlinkat(dirFd, cstr(name), buf, BigInt(buf.length)));
  if (n < 0) fail("read link", label);
  return new TextDecoder().decode(buf.subarray(0, n));
}

export type FileKind = "file" | "dir" | "symlink" | "other";

/** What statx(2) says about one inode. */
export interface AtStat {
  readonly kind: FileKind;
  /** Permission bits with setuid/setgid/sticky. */
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
}

const S_IFMT = 0o170000;
const KINDS: Record<number, FileKind> = { 0o100000: "file", 0o040000: "dir", 0o120000: "symlink" };
const STATX_BASIC_STATS = 0x7ff;

/** statx(2) of `name` under `dirFd`, never following a final symlink; `name` "" is the fd itself. */
export function statAt(dirFd: number, name: string, label = name): AtStat {
  const buf = new Uint8Array(256);
  const flags = AT_SYMLINK_NOFOLLOW | (name === "" ? AT_EMPTY_PATH : 0);
  if (libc().statx(dirFd, cstr(name), flags, STATX_BASIC_STATS, buf) < 0) fail("stat", label);
  const v = new DataView(buf.buffer);
  const mode = v.getUint16(28, true);
  return {
    kind: KINDS[mode & S_IFMT] ?? "other",
    mode: mode & 0o7777,
    uid: v.getUint32(20, true),
    gid: v.getUint32(24, true),
    size: Number(v.getBigUint64(40, true)),
  };
}

/** fchown(2) on an fd opened without O_PATH. */
export function fchownFd(fd: number, uid: number, gid: number, label: string): void {
  if (libc().fchown(fd, uid, gid) < 0) fail("change the owner of", label);
}

/** fchmod(2) on an fd opened without O_PATH. */
export function fchmodFd(fd: number, mode: number, label: string): void {
  if (libc().fchmod(fd, mode) < 0) fail("change the mode of", label);
}

/** ftruncate(2). */
export function ftruncateFd(fd: number, size: number, label: string): void {
  if (libc().ftruncate(fd, BigInt(size)) < 0) fail("resize", label);
}

/** Writes all of `data` to `fd`. */
export function writeAllFd(fd: number, data: Uint8Array, label: string): void {
  let off = 0;
  while (off < data.length) {
    const chunk = new Uint8Array(data.subarray(off));
    const n = Number(libc().write(fd, chunk, BigInt(chunk.length)));
    if (n < 0) fail("write", label);
    off += n;
  }
}
