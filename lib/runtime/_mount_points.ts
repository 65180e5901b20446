/**
 * The two mount points a run needs in the rootfs, made on the host before the container starts and
 * put back after it ends, so that the run's layer carries only what the script changed:
 *
 * - `/stacker` (the imports, read-only): made as an empty directory when the rootfs has none.
 * - `/etc/resolv.conf` (the host's resolver, bound read-only): an empty file when the rootfs has an
 *   `etc` directory but no resolv.conf.
 *
 * A base may ship either as a symlink (Ubuntu: `/etc/resolv.conf -> ../run/systemd/resolve/
 * stub-resolv.conf`). LXC would then mount through the link (an absolute one dangles, a relative
 * one shows the image's stub resolver, a `/stacker` link aborts the start). The link is set aside
 * instead: a placeholder takes its place for the run (on an overlay rootfs one in the upper dir
 * hides a link in the lower dirs), and the link comes back afterwards with its owner and times.
 *
 * Every path is below the writable root and checked with lstat (`etc` must be a real directory),
 * links are created, removed and re-owned, never followed; this relies on no process running in
 * the rootfs while it is prepared or restored.
 */
import { lchown, lutimes } from "node:fs/promises";
import { lgetxattr, symlink } from "../ffi/libc.ts";

interface SavedLink {
  readonly target: string;
  readonly uid: number;
  readonly gid: number;
  readonly times?: [Date, Date];
}

/** One placeholder made for a run, and what to put back when it is removed. */
interface Placeholder {
  readonly path: string;
  readonly kind: "dir" | "file";
  readonly ino: number | null;
  /** The link it replaced in the writable root. */
  readonly link?: SavedLink;
  /** The directory holding it, whose times are put back. */
  readonly parent: string;
  readonly parentTimes?: [Date, Date];
  /** The upper dir's `etc` made to hold it (overlay rootfs), with its metadata. */
  readonly madeEtc?: { readonly mode: number; readonly uid: number; readonly gid: number };
}

/** The placeholders of one run: `restore()` removes them and puts back what they replaced. */
export interface MountPoints {
  restore(): Promise<void>;
}

async function lstatOrUndefined(p: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.lstat(p);
  } catch {
    return undefined;
  }
}

function timesOf(st: Deno.FileInfo | undefined): [Date, Date] | undefined {
  return st?.atime && st.mtime ? [st.atime, st.mtime] : undefined;
}

function isWhiteout(st: Deno.FileInfo): boolean {
  return st.isCharDevice === true && (st.rdev ?? -1) === 0;
}

function isOpaque(dir: string): boolean {
  const v = lgetxattr(dir, "user.overlay.opaque");
  return v !== undefined && new TextDecoder().decode(v) === "y";
}

/**
 * How the merged view of an overlay's lower dirs (top first) sees `dir/name` (`dir` "" for the
 * root): the topmost `dir` directory (its metadata is the merged one) and the visible entry
 * (a whiteout, an opaque `dir` or a non-directory `dir` hides what lies below).
 */
async function lowerView(
  lowers: readonly string[],
  dir: string,
  name: string,
): Promise<{ dir?: Deno.FileInfo; entry?: Deno.FileInfo; seen: boolean }> {
  let top: Deno.FileInfo | undefined;
  for (const lower of lowers) {
    const base = dir === "" ? lower : `${lower}/${dir}`;
    if (dir !== "") {
      const d = await lstatOrUndefined(base);
      if (!d) continue;
      if (!d.isDirectory) break;
      top ??= d;
    }
    const e = await lstatOrUndefined(`${base}/${name}`);
    if (e) return { dir: top, entry: isWhiteout(e) ? undefined : e, seen: true };
    if (dir !== "" && isOpaque(base)) break;
  }
  return { dir: top, seen: top !== undefined || dir === "" };
}

/** Sets aside the link at `path` (in the writable root) and returns what restores it. */
async function takeLink(path: string, st: Deno.FileInfo): Promise<SavedLink> {
  const link = { target: await Deno.readLink(path), uid: st.uid ?? 0, gid: st.gid ?? 0, times: timesOf(st) };
  await Deno.remove(path);
  return link;
}

async function putLink(path: string, link: SavedLink): Promise<void> {
  symlink(link.target, path);
  await lchown(path, link.uid, link.gid);
  if (link.times) await lutimes(path, link.times[0], link.times[1]);
}

/** `/stacker`: nothing to do when the rootfs (writable root or lower dirs) has a real directory. */
async function stackerPoint(root: string, lowers: readonly string[]): Promise<Placeholder | undefined> {
  const path = `${root}/stacker`;
  const rootSt = await Deno.lstat(root);
  const st = await lstatOrUndefined(path);
  if (st?.isDirectory) return undefined;
  if (st && !st.isSymlink) return undefined; // a file: LXC reports it
  if (!st) {
    const lower = await lowerView(lowers, "", "stacker");
    if (lower.entry?.isDirectory) return undefined;
  }
  const link = st ? await takeLink(path, st) : undefined;
  await Deno.mkdir(path, { mode: 0o755 });
  return {
    path,
    kind: "dir",
    ino: (await Deno.lstat(path)).ino,
    link,
    parent: root,
    parentTimes: timesOf(rootSt),
  };
}

/** An upper `etc` with the merged one's metadata (what a copy-up makes), or undefined when it cannot be. */
async function makeUpperEtc(root: string, merged: Deno.FileInfo): Promise<Placeholder["madeEtc"]> {
  const mode = (merged.mode ?? 0o755) & 0o7777;
  const made = { mode, uid: merged.uid ?? 0, gid: merged.gid ?? 0 };
  try {
    await Deno.mkdir(`${root}/etc`);
    await Deno.chmod(`${root}/etc`, mode);
    await lchown(`${root}/etc`, made.uid, made.gid);
    const t = timesOf(merged);
    if (t) await lutimes(`${root}/etc`, t[0], t[1]);
    return made;
  } catch {
    await removeEmptyDir(`${root}/etc`);
    return undefined;
  }
}

/**
 * `/etc/resolv.conf`: an empty file for the host's to be bound on, when the rootfs has an `etc`
 * directory and no regular resolv.conf of its own.
 */
async function resolvPoint(root: string, lowers: readonly string[]): Promise<Placeholder | undefined> {
  const etcPath = `${root}/etc`;
  const path = `${etcPath}/resolv.conf`;
  let etc = await lstatOrUndefined(etcPath);
  let madeEtc: Placeholder["madeEtc"];
  let link: SavedLink | undefined;
  if (etc) {
    if (!etc.isDirectory) return undefined;
    const st = await lstatOrUndefined(path);
    if (st && !st.isSymlink) return undefined;
    if (st) link = await takeLink(path, st);
    else if (lowers.length > 0 && !isOpaque(etcPath)) {
      // An upper `etc` that is not opaque still shows the lower dirs' resolv.conf.
      const entry = (await lowerView(lowers, "etc", "resolv.conf")).entry;
      if (entry && !entry.isSymlink) return undefined;
    }
  } else {
    const merged = await lowerView(lowers, "etc", "resolv.conf");
    if (!merged.dir || (merged.entry && !merged.entry.isSymlink)) return undefined;
    madeEtc = await makeUpperEtc(root, merged.dir);
    if (!madeEtc) return undefined;
    etc = await Deno.lstat(etcPath);
  }
  try {
    using f = await Deno.open(path, { write: true, createNew: true, mode: 0o644 });
    // Making and removing it changes etc's times; they are put back so that the run's layer does
    // not carry an /etc entry the build itself made.
    return {
      path,
      kind: "file",
      ino: (await f.stat()).ino,
      link,
      parent: etcPath,
      parentTimes: timesOf(etc),
      madeEtc,
    };
  } catch {
    if (link) await putLink(path, link).catch(() => {});
    if (madeEtc) await removeEmptyDir(etcPath);
    return undefined;
  }
}

/**
 * Removes a placeholder only if it is still the same empty entry under a real parent, then puts back
 * the link it replaced and the parent's times; an upper `etc` made for it goes only if it is still
 * an empty directory with the metadata it was given.
 */
async function removePlaceholder(p: Placeholder): Promise<void> {
  try {
    if (!(await Deno.lstat(p.parent)).isDirectory) return;
    const st = await Deno.lstat(p.path);
    const same = st.ino === p.ino && (p.kind === "dir" ? st.isDirectory : st.isFile && st.size === 0);
    if (!same) return;
    await Deno.remove(p.path);
    if (p.link) await putLink(p.path, p.link);
    if (p.parentTimes) await lutimes(p.parent, p.parentTimes[0], p.parentTimes[1]);
  } catch { /* changed or gone: leave it */ }
  if (!p.madeEtc) return;
  const st = await lstatOrUndefined(p.parent);
  if (
    st?.isDirectory && ((st.mode ?? 0) & 0o7777) === p.madeEtc.mode && st.uid === p.madeEtc.uid &&
    st.gid === p.madeEtc.gid
  ) {
    await removeEmptyDir(p.parent);
  }
}

/** Removes `p` only if it is an empty real directory (never through a symlink the container made). */
async function removeEmptyDir(p: string): Promise<void> {
  try {
    const st = await Deno.lstat(p);
    if (st.isDirectory) await Deno.remove(p);
  } catch { /* not empty, or gone */ }
}

/**
 * Makes the mount points a run needs in `root` (the writable root: a tree, or an overlay's upper
 * dir over `lowers`, top first) and returns what removes them again. Best effort for resolv.conf
 * (without an `etc` directory the run simply gets no host resolver).
 */
export async function prepareMountPoints(root: string, lowers: readonly string[]): Promise<MountPoints> {
  // No rootfs: nothing to prepare, LXC reports it.
  if (!(await lstatOrUndefined(root))?.isDirectory) return { restore: () => Promise.resolve() };
  const stacker = await stackerPoint(root, lowers);
  const resolv = await resolvPoint(root, lowers).catch(() => undefined);
  return {
    async restore() {
      if (resolv) await removePlaceholder(resolv);
      if (stacker) await removePlaceholder(stacker);
    },
  };
}
