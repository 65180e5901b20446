/**
 * Directories root works on for, or next to, another user (`unpriv-setup`'s stacker and roots dirs,
 * their `storage.type` and btrfs loopback file): held open by fd and changed only through *at(2)
 * calls, so the user cannot redirect a chown, a write or a mkfs by swapping a path component for a
 * symlink, before or during the operation.
 *
 * A path is walked from "/" one component at a time without following symlinks, except links that
 * only root could have placed (owned by root, in a directory only root can change, or a sticky one):
 * `/home -> /usr/home` is fine, `proj -> /etc` planted by a user is refused.
 */
import { type AtStat, closeAt, fchownFd, mkdirAt, O_PATH, openAt, readlinkAt, statAt } from "../ffi/fs_at.ts";
import { Errno, O_CREAT, O_DIRECTORY, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } from "../ffi/libc.ts";
import { OsError, StorageError } from "../util/errors.ts";

const MAX_LINKS = 40;
const S_ISVTX = 0o1000;

/** A directory held open: its path may change meaning, the fd keeps pointing at the same one. */
export class DirFd implements Disposable {
  #fd: number;
  constructor(fd: number, readonly path: string) {
    this.#fd = fd;
  }
  get fd(): number {
    if (this.#fd < 0) throw new Error(`DirFd "${this.path}" used after close`);
    return this.#fd;
  }
  /** A path naming exactly this directory for child processes of this one (a magic /proc link). */
  get procPath(): string {
    return `/proc/${Deno.pid}/fd/${this.fd}`;
  }
  stat(): AtStat {
    return statAt(this.fd, "", this.path);
  }
  [Symbol.dispose](): void {
    if (this.#fd >= 0) closeAt(this.#fd);
    this.#fd = -1;
  }
}

function untrusted(path: string, why: string, context: Record<string, string | number> = {}): never {
  throw new StorageError(`Cannot use "${path}": ${why}`, {
    code: "storage.untrusted-path",
    context: { path, ...context },
  });
}

/** Whether only root can change which entries `dir` holds (or, sticky, replace root's own). */
function onlyRootChanges(dir: AtStat, entry: AtStat): boolean {
  if (dir.uid !== 0) return false;
  if ((dir.mode & 0o022) === 0) return true;
  return (dir.mode & S_ISVTX) !== 0 && entry.uid === 0;
}

function errnoOf(e: unknown): number | undefined {
  return e instanceof OsError ? e.errno : undefined;
}

/**
 * Opens directory `path` (relative paths from the cwd). Every component must be a real directory
 * or a symlink only root can have placed; with `create`, missing components are made (mode 0755,
 * owned by the caller). Throws StorageError `storage.untrusted-path` for a symlink someone else
 * controls, `storage.not-a-dir` for anything else in the way.
 */
export function openTrustedDir(path: string, opts: { create?: boolean } = {}): DirFd {
  const abs = path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
  const todo = abs.split("/").filter((c) => c !== "" && c !== ".");
  let fd = openAt(-1, "/", O_PATH | O_DIRECTORY, 0, "/");
  const stack: number[] = [];
  let links = 0;
  try {
    while (todo.length > 0) {
      const c = todo.shift()!;
      if (c === "..") {
        if (stack.length > 0) {
          closeAt(fd);
          fd = stack.pop()!;
        }
        continue;
      }
      let st: AtStat;
      try {
        st = statAt(fd, c, `${abs}: ${c}`);
      } catch (e) {
        if (errnoOf(e) !== Errno.ENOENT || !opts.create) throw e;
        try {
          mkdirAt(fd, c, 0o755, c);
        } catch (e2) {
          if (errnoOf(e2) !== Errno.EEXIST) throw e2;
        }
        st = statAt(fd, c, c);
      }
      if (st.kind === "symlink") {
        if (!onlyRootChanges(statAt(fd, ""), st)) {
          untrusted(path, `"${c}" is a symlink another user can change (owned by uid ${st.uid})`, {
            component: c,
            owner: st.uid,
          });
        }
        if (++links > MAX_LINKS) untrusted(path, "too many levels of symbolic links");
        const target = readlinkAt(fd, c, c);
        if (target.startsWith("/")) {
          for (const f of stack) closeAt(f);
          stack.length = 0;
          closeAt(fd);
          fd = openAt(-1, "/", O_PATH | O_DIRECTORY, 0, "/");
        }
        todo.unshift(...target.split("/").filter((x) => x !== "" && x !== "."));
        continue;
      }
      if (st.kind !== "dir") {
        throw new StorageError(`Cannot use "${path}": "${c}" is not a directory`, {
          code: "storage.not-a-dir",
          context: { path, component: c },
        });
      }
      const next = openAt(fd, c, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0, c);
      stack.push(fd);
      fd = next;
    }
    for (const f of stack) closeAt(f);
    stack.length = 0;
    // Reopened for reading: O_PATH fds cannot be fchown'ed.
    const dir = openAt(fd, ".", O_RDONLY | O_DIRECTORY, 0, abs);
    return new DirFd(dir, abs);
  } finally {
    for (const f of stack) closeAt(f);
    closeAt(fd);
  }
}

/** Splits `path` into its parent directory and last component (which must be a real name). */
export function splitLast(path: string): { parent: string; name: string } {
  const trimmed = path.replace(/\/+$/, "");
  const i = trimmed.lastIndexOf("/");
  const parent = i < 0 ? "." : i === 0 ? "/" : trimmed.slice(0, i);
  const name = i < 0 ? trimmed : trimmed.slice(i + 1);
  if (name === "" || name === "." || name === "..") {
    throw new StorageError(`Cannot use "${path}": it does not end in a name`, {
      code: "storage.bad-path",
      context: { path },
    });
  }
  return { parent, name };
}

export interface OwnedDirOptions {
  readonly uid: number;
  readonly gid: number;
}

/** Opens the directory `name` in `parent` without following a symlink. */
export function openDirIn(parent: DirFd, name: string): DirFd {
  const path = `${parent.path}/${name}`;
  return new DirFd(openAt(parent.fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, path), path);
}

/**
 * Makes `name` in `parent` a directory owned by `uid:gid` (created 0755 when missing) and returns
 * it open. An existing one that is a symlink, not a directory, or owned by anyone but root or
 * `uid` is refused with StorageError `storage.untrusted-path`; it is never followed or chowned.
 */
export function ensureOwnedDir(parent: DirFd, name: string, opts: OwnedDirOptions): DirFd {
  const path = `${parent.path}/${name}`;
  try {
    mkdirAt(parent.fd, name, 0o755, path);
  } catch (e) {
    if (errnoOf(e) !== Errno.EEXIST) throw e;
  }
  const st = statAt(parent.fd, name, path);
  if (st.kind === "symlink") untrusted(path, "it is a symlink", { owner: st.uid });
  if (st.kind !== "dir") untrusted(path, "it is not a directory");
  if (st.uid !== 0 && st.uid !== opts.uid) {
    untrusted(path, `it belongs to uid ${st.uid}, neither root nor uid ${opts.uid}`, { owner: st.uid });
  }
  const dir = openDirIn(parent, name);
  try {
    fchownFd(dir.fd, opts.uid, opts.gid, path);
    return dir;
  } catch (e) {
    dir[Symbol.dispose]();
    throw e;
  }
}

/**
 * Creates the new regular file `name` in `dir` (never through an existing name or a symlink:
 * O_CREAT|O_EXCL|O_NOFOLLOW) and returns its fd, which the caller closes with `closeAt`.
 */
export function createFileIn(dir: DirFd, name: string, mode: number): number {
  return openAt(dir.fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode, `${dir.path}/${name}`);
}

/** Opens the existing regular file `name` in `dir` without following a symlink; undefined when missing. */
export function openFileIn(dir: DirFd, name: string, flags: number): number | undefined {
  const path = `${dir.path}/${name}`;
  let st: AtStat;
  try {
    st = statAt(dir.fd, name, path);
  } catch (e) {
    if (errnoOf(e) === Errno.ENOENT) return undefined;
    throw e;
  }
  if (st.kind !== "file") untrusted(path, `it is a ${st.kind}, not a regular file`);
  return openAt(dir.fd, name, flags | O_NOFOLLOW, 0, path);
}

/** Someone other than root who can change what a path names or holds. */
export interface Controller {
  /** Their uid; -1 when a group or everyone can (a group- or world-writable directory). */
  readonly uid: number;
  /** The directory (or link) that gives them the control. */
  readonly path: string;
}

function lstatOrUndefined(p: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(p);
  } catch {
    return undefined;
  }
}

function dirController(
  dir: Deno.FileInfo,
  entry: Deno.FileInfo | undefined,
  at: string,
  name = "",
): Controller | undefined {
  const mode = dir.mode ?? 0;
  if (dir.uid !== 0) return { uid: dir.uid ?? -1, path: at };
  if ((mode & 0o022) === 0) return undefined;
  // Sticky (/tmp): an entry is its owner's to replace; a name that does not exist yet, anyone's.
  if ((mode & S_ISVTX) === 0 || !entry) return { uid: -1, path: at };
  return entry.uid === 0 ? undefined : { uid: entry.uid ?? -1, path: `${at === "/" ? "" : at}/${name}` };
}

/**
 * The first user other than root who could change what `path` (relative to the cwd) names or, when
 * it exists, holds: the owner of a directory on the way (or anyone, for a group- or world-writable
 * one), the owner of the directory itself. Symlinks are followed (a link someone else could
 * change has its directory reported first). Undefined when only root can: root may then work there
 * by path. Path-based on purpose: nobody but root can make a directory look root's.
 */
export function controllerOf(path: string): Controller | undefined {
  const todo = (path.startsWith("/") ? path : `${Deno.cwd()}/${path}`).split("/").filter((c) =>
    c !== "" && c !== "."
  );
  let cur = "";
  let links = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === "..") {
      cur = cur.slice(0, cur.lastIndexOf("/"));
      continue;
    }
    const dir = lstatOrUndefined(cur || "/");
    const entry = lstatOrUndefined(`${cur}/${c}`);
    const ctl = dir && dirController(dir, entry, cur || "/", c);
    if (ctl) return ctl;
    if (!entry) return undefined;
    if (entry.isSymlink) {
      if (++links > MAX_LINKS) return { uid: -1, path: `${cur}/${c}` };
      const target = Deno.readLinkSync(`${cur}/${c}`);
      if (target.startsWith("/")) cur = "";
      todo.unshift(...target.split("/").filter((x) => x !== "" && x !== "."));
      continue;
    }
    cur = `${cur}/${c}`;
    if (!entry.isDirectory) return undefined;
  }
  const last = lstatOrUndefined(cur || "/");
  return last?.isDirectory ? dirController(last, undefined, cur || "/") : undefined;
}
