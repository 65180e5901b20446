/**
 * The stacker-dir lock: a flock on `<dir>/.lock`, a file that is never unlinked (a deleted lock file
 * would let two holders coexist). Taken without waiting, so a second build on the same dir fails
 * fast, naming the holder's pid as stacker does. The kernel drops it on kill -9.
 */
import { BuildError } from "../util/errors.ts";

/** A held lock; `release()` is idempotent, and `await using` releases it. */
export interface DirLock extends AsyncDisposable {
  readonly path: string;
  release(): void;
}

/** The pid holding a flock on `path`, read from /proc/locks by inode; undefined if unknown. */
export async function lockHolder(path: string): Promise<number | undefined> {
  try {
    const ino = (await Deno.stat(path)).ino;
    const text = await Deno.readTextFile("/proc/locks");
    for (const line of text.split("\n")) {
      // "1: FLOCK  ADVISORY  WRITE 1234 08:01:123456 0 EOF"
      const f = line.trim().split(/\s+/);
      const pidIdx = f[1] === "->" ? 5 : 4;
      const devIno = f[pidIdx + 1]?.split(":");
      if (devIno && Number(devIno[2]) === ino && f[pidIdx - 3] === "FLOCK") return Number(f[pidIdx]);
    }
  } catch { /* best effort: the message then says "unknown" */ }
  return undefined;
}

async function cmdline(pid: number): Promise<string> {
  try {
    const raw = await Deno.readTextFile(`/proc/${pid}/cmdline`);
    return raw.split("\0").filter((s) => s).join(" ");
  } catch {
    return "";
  }
}

/**
 * Takes the exclusive lock on `<dir>/.lock`, creating `dir` if needed. Throws BuildError
 * `build.locked` ("couldn't acquire lock on …: lock owned by pid N (cmdline)") when another process
 * holds it. The lock fd is close-on-exec (Deno opens every file so), so containers never inherit it.
 */
export async function lockDir(dir: string): Promise<DirLock> {
  await Deno.mkdir(dir, { recursive: true });
  const path = `${dir}/.lock`;
  const file = await Deno.open(path, { read: true, write: true, create: true, mode: 0o644 });
  let ok = false;
  try {
    ok = await file.tryLock(true);
  } finally {
    if (!ok) file.close();
  }
  if (!ok) {
    const pid = await lockHolder(path);
    const cmd = pid !== undefined ? await cmdline(pid) : "";
    throw new BuildError(
      `couldn't acquire lock on ${path}: lock owned by pid ${pid ?? "unknown"}${cmd ? ` (${cmd})` : ""}`,
      { code: "build.locked", context: { path, pid } },
    );
  }
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    file.close(); // closing the fd drops the flock
  };
  return { path, release, [Symbol.asyncDispose]: () => Promise.resolve(release()) };
}

/**
 * The locks a build holds for its whole run, in this order: the stacker dir's, then the roots
 * dir's (spec §3.1: two stackers on the same stacker dir *or* roots dir fail fast, "couldn't
 * acquire lock on …"). One lock when both are the same directory. Released in reverse order.
 */
export async function lockBuildDirs(stackerDir: string, rootsDir: string): Promise<AsyncDisposable> {
  const stacker = await lockDir(stackerDir);
  if (await sameDir(stackerDir, rootsDir)) return stacker;
  let roots: DirLock;
  try {
    roots = await lockDir(rootsDir);
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
