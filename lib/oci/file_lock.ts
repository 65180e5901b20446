/**
 * Locks on dedicated lock files via flock(2) (`Deno.FsFile.tryLock`), exclusive or shared. A kill -9
 * releases a lock with its fd, so a dead holder's lock is free at once: there is no stale lock file.
 * Lock files are never unlinked while in use; whoever removes a directory holding one (`clean`)
 * holds that lock exclusively first, and every locker checks after locking that the path still
 * names the inode it locked (else it starts over on the new file), so a removed or replaced lock
 * file never lets two holders in. Lock fds are close-on-exec (Deno's default): children never
 * inherit a lock.
 */
import { OciError } from "../util/errors.ts";
import { dirname } from "../util/path.ts";
import { processCmdline } from "../util/process.ts";

/** Upper bound on waiting for a short-held lock (index, storage) unless told otherwise. */
export const SHORT_LOCK_TIMEOUT_MS = 120_000;

/** A process holding a lock, as /proc/locks names it. */
export interface LockHolder {
  readonly pid: number;
  readonly cmdline: string;
}

/** Options of {@link acquireFileLock} and {@link withFileLock}. */
export interface FileLockOptions {
  /** What the lock protects, for messages ("the layout index"). */
  readonly what: string;
  /** Exclusive (default) or shared: shared holders exclude only exclusive ones. */
  readonly exclusive?: boolean;
  /** Wait for the holder (true, default: bounded by `timeoutMs`) or fail at once naming it. */
  readonly wait?: boolean;
  /** Upper bound on waiting when `wait` is true (default 120 s). */
  readonly timeoutMs?: number;
  /** Called when the lock is busy and we start waiting, and again whenever its holder changes. */
  readonly onWait?: (holder: LockHolder | undefined, path: string) => void;
  /** The error thrown when the lock cannot be had (default OciError `oci.locked`). */
  readonly error?: (holder: LockHolder | undefined, path: string) => Error;
  /** Create the lock file's directory when it is missing (default false). */
  readonly makeDir?: boolean;
  /**
   * Open an existing lock file read-only and never create one (default false): for readers of a
   * directory they may not write. A missing file throws NotFound.
   */
  readonly readOnly?: boolean;
  readonly signal?: AbortSignal;
}

/** A held lock; `release()` is idempotent and `await using` releases it. */
export interface HeldLock extends AsyncDisposable {
  readonly path: string;
  release(): void;
}

/**
 * The processes holding a flock on `path` (waiters excluded), read from /proc/locks by inode; a
 * line whose device matches is preferred (btrfs reports another device in stat than in /proc/locks).
 */
export async function lockHolders(path: string): Promise<LockHolder[]> {
  try {
    const st = await Deno.stat(path);
    const major = Math.floor(Number(st.dev) / 256) & 0xfff; // glibc dev_t encoding for small majors
    const minor = (Number(st.dev) & 0xff) | ((Number(st.dev) >> 12) & 0xfff00);
    const dev = `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}`;
    const exact: number[] = [], byIno: number[] = [];
    for (const line of (await Deno.readTextFile("/proc/locks")).split("\n")) {
      // "1: FLOCK  ADVISORY  WRITE 1234 08:01:123456 0 EOF"; blocked waiters carry a "->" field.
      const f = line.trim().split(/\s+/);
      if (f[1] !== "FLOCK") continue;
      const [, , , , pid, id] = f;
      const parts = id?.toLowerCase().split(":") ?? [];
      if (parts.length !== 3 || Number(parts[2]) !== st.ino) continue;
      (`${parts[0]}:${parts[1]}` === dev ? exact : byIno).push(Number(pid));
    }
    const pids = [...new Set(exact.length > 0 ? exact : byIno)];
    return await Promise.all(pids.map(async (pid) => ({ pid, cmdline: await processCmdline(pid) })));
  } catch {
    return []; // best effort: the caller still reports the contention
  }
}

/** The first process holding a flock on `path`, or undefined. */
export async function lockHolder(path: string): Promise<LockHolder | undefined> {
  return (await lockHolders(path))[0];
}

/** "pid N (cmdline)" or "another process", for messages. */
export function describeHolder(holder: LockHolder | undefined): string {
  if (!holder) return "another process";
  return `pid ${holder.pid}${holder.cmdline ? ` (${holder.cmdline})` : ""}`;
}

/**
 * Takes a flock on `lockPath` (created 0o644 if missing; an existing file we may not write, e.g.
 * one root left, is locked through a read-only fd). With `wait: false` it throws at once naming
 * the holder; with `wait` it polls until `timeoutMs`, calling `onWait` as it starts waiting.
 */
export async function acquireFileLock(lockPath: string, opts: FileLockOptions): Promise<HeldLock> {
  const exclusive = opts.exclusive ?? true;
  const deadline = Date.now() + (opts.timeoutMs ?? SHORT_LOCK_TIMEOUT_MS);
  let delay = 2;
  let reported: number | null | undefined = undefined; // pid last passed to onWait (null: unknown)
  for (;;) {
    if (opts.makeDir) await Deno.mkdir(dirname(lockPath), { recursive: true });
    const file = await openLockFile(lockPath, opts.readOnly ?? false);
    let locked = false;
    try {
      for (;;) {
        opts.signal?.throwIfAborted();
        if (await file.tryLock(exclusive)) break;
        const holder = await lockHolder(lockPath);
        if (opts.wait === false || Date.now() >= deadline) {
          throw opts.error?.(holder, lockPath) ?? new OciError(
            `Cannot lock ${opts.what}: "${lockPath}" is locked by ${describeHolder(holder)}`,
            { code: "oci.locked", context: { path: lockPath, pid: holder?.pid } },
          );
        }
        if ((holder?.pid ?? null) !== reported) {
          reported = holder?.pid ?? null;
          opts.onWait?.(holder, lockPath);
        }
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 200);
      }
      locked = await sameInode(file, lockPath);
    } finally {
      if (!locked) file.close(); // closing the fd drops the flock
    }
    if (locked) return heldLock(lockPath, file);
    // The file was removed (clean) or replaced while we waited: lock whatever the path names now.
  }
}

/** Runs `fn` while holding a lock on `lockPath` (see {@link acquireFileLock}); released when `fn` settles. */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  opts: FileLockOptions,
): Promise<T> {
  await using _held = await acquireFileLock(lockPath, opts);
  return await fn();
}

function heldLock(path: string, file: Deno.FsFile): HeldLock {
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    file.close();
  };
  return { path, release, [Symbol.asyncDispose]: () => Promise.resolve(release()) };
}

async function openLockFile(path: string, readOnly: boolean): Promise<Deno.FsFile> {
  try {
    // A planted symlink must not make us create or lock a file elsewhere.
    if ((await Deno.lstat(path)).isSymlink) {
      throw new OciError(`Cannot lock "${path}": it is a symbolic link`, {
        code: "oci.lock-symlink",
        context: { path },
      });
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  if (readOnly) return await Deno.open(path, { read: true });
  try {
    return await Deno.open(path, { read: true, write: true, create: true, mode: 0o644 });
  } catch (err) {
    // flock needs no write access: a lock file another user owns still serves through a read-only fd.
    if (err instanceof Deno.errors.PermissionDenied) return await Deno.open(path, { read: true });
    throw err;
  }
}

async function sameInode(file: Deno.FsFile, path: string): Promise<boolean> {
  try {
    const [a, b] = [await file.stat(), await Deno.lstat(path)];
    return a.ino === b.ino && a.dev === b.dev;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
