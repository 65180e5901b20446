/**
 * Typed libc bindings for the few system calls Deno does not expose: ioctl, mknod, xattrs, mount,
 * pipe2, signal. The library is opened lazily, so code that never calls these runs without
 * `--allow-ffi`. Failures become `OsError` carrying errno (best effort: the runtime may overwrite
 * errno between the call and our read of it; use it for messages, not for control flow, unless a
 * test shows it holds).
 */
import { OsError } from "../util/errors.ts";
import { resolveLibrary } from "../util/permissions.ts";

const symbols = {
  // int open(const char *path, int flags, mode_t mode)
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  // int close(int fd)
  close: { parameters: ["i32"], result: "i32" },
  // int ioctl(int fd, unsigned long request, void *arg)
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  // int ioctl(int fd, unsigned long request, long arg)   (integer-argument form, e.g. FICLONE)
  ioctl_int: { name: "ioctl", parameters: ["i32", "u64", "i64"], result: "i32" },
  // int mknod(const char *path, mode_t mode, dev_t dev)
  mknod: { parameters: ["buffer", "u32", "u64"], result: "i32" },
  // int lsetxattr(const char *path, const char *name, const void *value, size_t size, int flags)
  lsetxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
  // ssize_t lgetxattr(const char *path, const char *name, void *value, size_t size)
  lgetxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
  // ssize_t llistxattr(const char *path, char *list, size_t size)
  llistxattr: { parameters: ["buffer", "buffer", "usize"], result: "isize" },
  // int lremovexattr(const char *path, const char *name)
  lremovexattr: { parameters: ["buffer", "buffer"], result: "i32" },
  // int mount(const char *src, const char *target, const char *fstype, unsigned long flags, const void *data)
  mount: { parameters: ["buffer", "buffer", "buffer", "u64", "buffer"], result: "i32" },
  // int umount2(const char *target, int flags)
  umount2: { parameters: ["buffer", "i32"], result: "i32" },
  // int pipe2(int pipefd[2], int flags)
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  // sighandler_t signal(int signum, sighandler_t handler)   (handler passed as an integer: SIG_DFL=0, SIG_IGN=1)
  signal: { parameters: ["i32", "usize"], result: "usize" },
  // int fchown(int fd, uid_t owner, gid_t group)
  fchown: { parameters: ["i32", "u32", "u32"], result: "i32" },
  // int close_range(unsigned int first, unsigned int last, int flags)
  close_range: { parameters: ["u32", "u32", "i32"], result: "i32" },
  // int symlink(const char *target, const char *linkpath)
  symlink: { parameters: ["buffer", "buffer"], result: "i32" },
  // int lchown(const char *path, uid_t owner, gid_t group)
  lchown: { parameters: ["buffer", "u32", "u32"], result: "i32" },
  // int utimensat(int dirfd, const char *path, const struct timespec times[2], int flags)
  utimensat: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  // int fsync(int fd)
  fsync: { parameters: ["i32"], result: "i32" },
  // int *__errno_location(void)
  __errno_location: { parameters: [], result: "pointer" },
  // char *strerror(int errnum)
  strerror: { parameters: ["i32"], result: "pointer" },
  // uid_t geteuid(void)
  geteuid: { parameters: [], result: "u32" },
  // gid_t getegid(void)
  getegid: { parameters: [], result: "u32" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Opens libc with `syms` (the other binding modules of this folder load their calls through it). */
export function openLibc<S extends Deno.ForeignLibraryInterface>(syms: S): Deno.DynamicLibrary<S>["symbols"] {
  try {
    // An absolute path: under a narrowed --allow-ffi, Deno checks a bare soname against the cwd.
    return Deno.dlopen(resolveLibrary("libc.so.6") ?? "libc.so.6", syms).symbols;
  } catch (cause) {
    throw new OsError("Cannot load libc.so.6 through FFI (is --allow-ffi granted?)", {
      code: "ffi.load",
      cause,
    });
  }
}

let lib: Deno.DynamicLibrary<typeof symbols>["symbols"] | undefined;
function libc(): Deno.DynamicLibrary<typeof symbols>["symbols"] {
  return lib ??= openLibc(symbols);
}

const enc = new TextEncoder();
/** A NUL-terminated C string. */
export function cstr(s: string | Uint8Array): Uint8Array<ArrayBuffer> {
  const bytes = typeof s === "string" ? enc.encode(s) : s;
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** errno of the last failed call (best effort, see the module comment). */
export function lastErrno(): number {
  const p = libc().__errno_location();
  if (p === null) return 0;
  return new Deno.UnsafePointerView(p).getInt32();
}

/** The C library's text for `errno`. */
export function strerror(errno: number): string {
  const p = libc().strerror(errno);
  return p === null ? `errno ${errno}` : Deno.UnsafePointerView.getCString(p);
}

export const Errno = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  EBADF: 9,
  EACCES: 13,
  EBUSY: 16,
  EEXIST: 17,
  EXDEV: 18,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  ENOSPC: 28,
  EROFS: 30,
  ERANGE: 34,
  ENODATA: 61,
  EOPNOTSUPP: 95,
  ENOTSUP: 95,
} as const;

function fail(what: string, context: Record<string, string | number> = {}): never {
  const errno = lastErrno();
  throw new OsError(`Cannot ${what}: ${strerror(errno)}`, {
    code: "os.syscall",
    errno,
    context: { ...context, errno },
  });
}

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_EXCL = 0o200;
export const O_NOFOLLOW = 0o400000;
export const O_DIRECTORY = 0o200000;
export const O_CLOEXEC = 0o2000000;
export const O_NONBLOCK = 0o4000;

/** open(2); returns a raw fd the caller must `close`. O_CLOEXEC is always added. */
export function openFd(path: string, flags: number, mode = 0): number {
  const fd = libc().open(cstr(path), flags | O_CLOEXEC, mode);
  if (fd < 0) fail(`open "${path}"`, { path });
  return fd;
}

/** close(2); idempotence is the caller's job (never close a fd twice). */
export function closeFd(fd: number): void {
  libc().close(fd);
}

/** ioctl(2) with a pointer argument. */
export function ioctl(fd: number, request: bigint, arg: Uint8Array<ArrayBuffer>, what: string): number {
  const rc = libc().ioctl(fd, request, arg);
  if (rc < 0) fail(what);
  return rc;
}

/** ioctl(2) with an integer argument. */
export function ioctlInt(fd: number, request: bigint, arg: bigint, what: string): number {
  const rc = libc().ioctl_int(fd, request, arg);
  if (rc < 0) fail(what);
  return rc;
}

/** ioctl(2) with an integer argument that reports failure as errno instead of throwing. */
export function tryIoctlInt(
  fd: number,
  request: bigint,
  arg: bigint,
): { ok: true } | { ok: false; errno: number } {
  const rc = libc().ioctl_int(fd, request, arg);
  return rc < 0 ? { ok: false, errno: lastErrno() } : { ok: true };
}

export const S_IFIFO = 0o010000;
export const S_IFCHR = 0o020000;
export const S_IFBLK = 0o060000;

/** makedev(3) as glibc encodes it. */
export function makedev(major: number, minor: number): bigint {
  const ma = BigInt(major), mi = BigInt(minor);
  return ((ma & 0xfffn) << 8n) | ((ma & ~0xfffn) << 32n) | (mi & 0xffn) | ((mi & ~0xffn) << 12n);
}

/** mknod(2): `type` is S_IFIFO, S_IFCHR or S_IFBLK; `perm` the permission bits. */
export function mknod(path: string, type: number, perm: number, major = 0, minor = 0): void {
  if (libc().mknod(cstr(path), type | (perm & 0o7777), makedev(major, minor)) < 0) {
    fail(`mknod "${path}"`, { path });
  }
}

/** lsetxattr(2): never follows a final symlink. */
export function lsetxattr(path: string, name: string, value: Uint8Array): void {
  const v = new Uint8Array(value);
  if (libc().lsetxattr(cstr(path), cstr(name), v, BigInt(v.length), 0) < 0) {
    fail(`set xattr "${name}" on "${path}"`, { path, xattr: name });
  }
}

/** lgetxattr(2); undefined when the attribute does not exist. */
export function lgetxattr(path: string, name: string): Uint8Array | undefined {
  const p = cstr(path), n = cstr(name);
  for (let size = 256; size <= 1 << 20; size *= 4) {
    const buf = new Uint8Array(size);
    const rc = Number(libc().lgetxattr(p, n, buf, BigInt(size)));
    if (rc >= 0) return buf.slice(0, rc);
    const errno = lastErrno();
    if (errno === Errno.ENODATA || errno === Errno.ENOTSUP) return undefined;
    if (errno !== Errno.ERANGE) fail(`get xattr "${name}" of "${path}"`, { path, xattr: name });
  }
  fail(`get xattr "${name}" of "${path}": value too large`, { path, xattr: name });
}

/** llistxattr(2): the attribute names of `path` (not following a final symlink). */
export function llistxattr(path: string): string[] {
  const p = cstr(path);
  for (let size = 1024; size <= 1 << 20; size *= 4) {
    const buf = new Uint8Array(size);
    const rc = Number(libc().llistxattr(p, buf, BigInt(size)));
    if (rc >= 0) {
      const names = new TextDecoder().decode(buf.subarray(0, rc)).split("\0");
      return names.filter((s) => s.length > 0);
    }
    const errno = lastErrno();
    if (errno === Errno.ENOTSUP) return [];
    if (errno !== Errno.ERANGE) fail(`list xattrs of "${path}"`, { path });
  }
  fail(`list xattrs of "${path}": list too large`, { path });
}

/** lremovexattr(2); a missing attribute is not an error. */
export function lremovexattr(path: string, name: string): void {
  if (libc().lremovexattr(cstr(path), cstr(name)) < 0) {
    const errno = lastErrno();
    if (errno === Errno.ENODATA) return;
    fail(`remove xattr "${name}" of "${path}"`, { path, xattr: name });
  }
}

export const MS_RDONLY = 1n;
export const MS_NOSUID = 2n;
export const MS_NODEV = 4n;
export const MS_REMOUNT = 32n;
export const MS_BIND = 4096n;
export const MS_REC = 16384n;
export const MS_PRIVATE = 1n << 18n;
export const MNT_DETACH = 2;

/** mount(2). */
export function mount(source: string, target: string, fstype: string, flags: bigint, data = ""): void {
  if (libc().mount(cstr(source), cstr(target), cstr(fstype), flags, cstr(data)) < 0) {
    fail(`mount ${fstype} "${source}" on "${target}"`, { source, target, fstype });
  }
}

/** umount2(2). */
export function umount(target: string, flags = 0): void {
  if (libc().umount2(cstr(target), flags) < 0) fail(`unmount "${target}"`, { target });
}

/** pipe2(2) with O_CLOEXEC: [readFd, writeFd]. */
export function pipe(): [number, number] {
  const fds = new Int32Array(2);
  if (libc().pipe2(new Uint8Array(fds.buffer), O_CLOEXEC) < 0) fail("create a pipe");
  return [fds[0], fds[1]];
}

export const SIGPIPE = 13;
/** Resets `signum` to its default disposition (SIG_DFL). */
export function resetSignal(signum: number): void {
  libc().signal(signum, 0n);
}

const CLOSE_RANGE_CLOEXEC = 4;
/**
 * Marks every fd from `first` up close-on-exec (close_range(2) with CLOSE_RANGE_CLOEXEC): fds a
 * parent leaked into this process then reach no program it executes.
 */
export function cloexecFrom(first: number): void {
  if (libc().close_range(first, 0xffffffff, CLOSE_RANGE_CLOEXEC) < 0) fail("mark fds close-on-exec");
}

/**
 * symlink(2). Deno.symlink needs unscoped read and write permissions (a link's target is resolved
 * only when traversed); the layer engine creates links through this call so that it runs under the
 * narrow, path-scoped permission set.
 */
export function symlink(target: string, linkPath: string): void {
  if (libc().symlink(cstr(target), cstr(linkPath)) < 0) {
    fail(`create symlink "${linkPath}" -> "${target}"`, { path: linkPath, target });
  }
}

/** lchown(2): changes the owner of `path` itself, never of what a final symlink points at. */
export function lchown(path: string, uid: number, gid: number): void {
  if (libc().lchown(cstr(path), uid, gid) < 0) fail(`change the owner of "${path}"`, { path });
}

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;

/** utimensat(2) with AT_SYMLINK_NOFOLLOW: sets atime and mtime (seconds) of `path` itself. */
export function lutimes(path: string, atime: number, mtime: number): void {
  const ts = new BigInt64Array(4);
  for (const [i, t] of [[0, atime], [2, mtime]]) {
    const sec = Math.floor(t);
    ts[i] = BigInt(sec);
    ts[i + 1] = BigInt(Math.min(999_999_999, Math.round((t - sec) * 1e9)));
  }
  if (libc().utimensat(AT_FDCWD, cstr(path), new Uint8Array(ts.buffer), AT_SYMLINK_NOFOLLOW) < 0) {
    fail(`set the times of "${path}"`, { path });
  }
}

/** fsync(2) on a raw fd (Deno's FsFile.sync covers files it opened itself). */
export function fsyncFd(fd: number): void {
  if (libc().fsync(fd) < 0) fail("fsync");
}

/** Effective uid and gid of this process. */
export function effectiveIds(): { uid: number; gid: number } {
  return { uid: libc().geteuid(), gid: libc().getegid() };
}
