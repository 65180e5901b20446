/**
 * Exclusive locks on dedicated lock files via flock(2) (`Deno.FsFile.lock`). The lock file is never
 * unlinked, so two processes always lock the same inode; a kill -9 releases the lock with the fd.
 */
import { OciError } from "../util/errors.ts";

/** Options of {@link withFileLock}. */
export interface FileLockOptions {
  /** Wait for the holder (true, default: bounded by `timeoutMs`) or fail at once naming it. */
  readonly wait?: boolean;
  /** What the lock protects, for messages ("the layout index"). */
  readonly what: string;
  /** Upper bound on waiting when `wait` is true (default 120 s). */
  readonly timeoutMs?: number;
}

/** The pid (and command line) holding a flock on `path`, read from /proc/locks, or undefined. */
export async function lockHolder(path: string): Promise<{ pid: number; cmdline: string } | undefined> {
  try {
    const st = await Deno.stat(path);
    const major = Math.floor(Number(st.dev) / 256) & 0xfff; // glibc dev_t encoding for small majors
    const minor = (Number(st.dev) & 0xff) | ((Number(st.dev) >> 12) & 0xfff00);
    const want = `${major.toString(16).padStart(2, "0")}:${minor.toString(16).padStart(2, "0")}:${st.ino}`;
    const locks = await Deno.readTextFile("/proc/locks");
    for (const line of locks.split("\n")) {
      const f = line.trim().split(/\s+/);
      // "1: FLOCK ADVISORY WRITE <pid> <maj:min:ino> 0 EOF"; blocked waiters carry a "->" field.
      if (f[1] !== "FLOCK" || f.includes("->")) continue;
      const [, , , , pid, id] = f;
      if (id?.toLowerCase() === want) {
        const cmd = await Deno.readTextFile(`/proc/${pid}/cmdline`).catch(() => "");
        return { pid: Number(pid), cmdline: cmd.split("\0").filter(Boolean).join(" ") };
      }
    }
  } catch {
    // best effort: the caller still reports the contention
  }
  return undefined;
}

/**
 * Runs `fn` while holding an exclusive flock on `lockPath` (created 0o644 if missing, never
 * removed). With `wait: false` it throws OciError `oci.locked` naming the holder's pid at once;
 * with `wait` it polls until `timeoutMs`, then throws the same. The lock is released when `fn`
 * settles, also on error. The fd is opened close-on-exec (Deno's default), so children never inherit it.
 */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  opts: FileLockOptions,
): Promise<T> {
  const file = await Deno.open(lockPath, { read: true, write: true, create: true, mode: 0o644 });
  try {
    const deadline = Date.now() + (opts.timeoutMs ?? 120_000);
    let delay = 5;
    for (;;) {
      if (await tryLock(file)) break;
      if (opts.wait === false || Date.now() >= deadline) {
        const holder = await lockHolder(lockPath);
        throw new OciError(
          `Cannot lock ${opts.what}: "${lockPath}" is locked by ${
            holder ? `pid ${holder.pid} (${holder.cmdline})` : "another process"
          }`,
          { code: "oci.locked", context: { path: lockPath, pid: holder?.pid } },
        );
      }
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 100);
    }
    return await fn();
  } finally {
    file.close(); // closing the fd drops the flock
  }
}

async function tryLock(file: Deno.FsFile): Promise<boolean> {
  // FsFile.lock blocks in a worker thread with no timeout; a non-blocking try keeps us bounded.
  return await file.tryLock(true);
}
