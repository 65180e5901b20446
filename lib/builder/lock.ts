/**
 * The stacker-dir and roots-dir locks: an flock on `<dir>/.lock`, a file that is never unlinked
 * while in use (`acquireFileLock` starts over when `clean` removed it meanwhile). A second command
 * on the same dir waits for the holder, saying so once ("waiting for lock held by pid N …"), up to
 * the lock timeout (`--lock-timeout`; 0 fails at once as stacker does). The kernel drops an flock
 * when its holder dies (kill -9 included), so a dead holder's lock is taken over at once. A lock
 * file another user left (root's, in a dir the user owns) is locked through a read-only fd.
 */
import { BuildError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { acquireFileLock, describeHolder, type HeldLock, lockHolder as holderOf } from "../oci/mod.ts";

/** The default of `--lock-timeout`: generous, a build may queue behind a long one. */
export const DEFAULT_LOCK_TIMEOUT_MS = 3_600_000;

/** A held lock; `release()` is idempotent, and `await using` releases it. */
export type DirLock = HeldLock;

/** How long and how visibly to wait for a lock. */
export interface LockWaitOptions {
  /** Upper bound on waiting in ms (default {@link DEFAULT_LOCK_TIMEOUT_MS}); 0 fails at once. */
  readonly timeoutMs?: number;
  /** Where "waiting for lock held by pid N" goes (info). */
  readonly log?: Logger;
  readonly signal?: AbortSignal;
}

/** The pid holding a flock on `path` (from /proc/locks); undefined if unknown. */
export async function lockHolder(path: string): Promise<number | undefined> {
  return (await holderOf(path))?.pid;
}

/**
 * Takes the exclusive lock on `<dir>/.lock`, creating `dir` if needed, waiting as `opts` says.
 * Throws BuildError `build.locked` ("couldn't acquire lock on …: lock owned by pid N (cmdline)")
 * when the holder keeps it past the timeout. The lock fd is close-on-exec, so containers never
 * inherit it.
 */
export async function lockDir(dir: string, opts: LockWaitOptions = {}): Promise<DirLock> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  return await acquireFileLock(`${dir}/.lock`, {
    what: `"${dir}"`,
    wait: timeoutMs > 0,
    timeoutMs,
    makeDir: true,
    signal: opts.signal,
    onWait: (holder, path) => {
      opts.log?.info(
        `waiting for lock held by ${describeHolder(holder)} on ${path} (up to ${
          Math.round(timeoutMs / 1000)
        }s, --lock-timeout)`,
      );
    },
    error: (holder, path) =>
      new BuildError(
        `couldn't acquire lock on ${path}: lock owned by ${holder ? describeHolder(holder) : "pid unknown"}${
          timeoutMs > 0 ? ` (waited ${Math.round(timeoutMs / 1000)}s, --lock-timeout)` : ""
        }`,
        { code: "build.locked", context: { path, pid: holder?.pid } },
      ),
  });
}

/**
 * The locks a build holds for its whole run, in this order: the stacker dir's, then the roots
 * dir's (spec §3.1: two stackers never share a stacker dir *or* roots dir at once). One lock when
 * both are the same directory. Released in reverse order.
 */
export async function lockBuildDirs(
  stackerDir: string,
  rootsDir: string,
  opts: LockWaitOptions = {},
): Promise<AsyncDisposable> {
  const stacker = await lockDir(stackerDir, opts);
  if (await sameDir(stackerDir, rootsDir)) return stacker;
  let roots: DirLock;
  try {
    roots = await lockDir(rootsDir, opts);
  } catch (err) {
    stacker.release();
    throw err;
  }
  return {
    [Symbol.asyncDispose]: () => {
      roots.release();
      stacker.release();
      return Promise.resolve();
    },
  };
}

async function sameDir(a: string, b: string): Promise<boolean> {
  try {
    const [x, y] = [await Deno.stat(a), await Deno.stat(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false; // b does not exist yet: lockDir makes it
  }
}
