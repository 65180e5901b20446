/**
 * `unpriv-setup --storage-type btrfs`: a sparse loopback file formatted as btrfs and mounted on the
 * roots dir with `user_subvol_rm_allowed`, owned by the unprivileged user, as the original stacker
 * once did. Root only (mkfs and mount); the runtime's unpriv-setup command calls it.
 * `unmountBtrfsLoopback` undoes the mount (the loop device goes with it: mount -o loop sets autoclear).
 */
import { closeAt, fchownFd, ftruncateFd, O_PATH } from "../ffi/fs_at.ts";
import { closeFd, MNT_DETACH, O_DIRECTORY, O_NOFOLLOW, O_RDWR, openFd, umount } from "../ffi/libc.ts";
import { StorageError } from "../util/errors.ts";
import {
  createFileIn,
  type DirFd,
  ensureOwnedDir,
  openDirIn,
  openFileIn,
  openTrustedDir,
  splitLast,
} from "./trusted_dirs.ts";

export interface BtrfsLoopbackOptions {
  readonly stackerDir: string;
  readonly rootsDir: string;
  readonly uid: number;
  readonly gid: number;
  /** Size of the sparse file in bytes (default 100 GiB, as stacker). */
  readonly size?: number;
}

async function run(argv: string[], what: string): Promise<string> {
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new StorageError(`Cannot ${what}: ${new TextDecoder().decode(out.stderr).trim()}`, {
      code: "storage.loopback",
      context: { command: argv.join(" ") },
    });
  }
  return new TextDecoder().decode(out.stdout);
}

/** The filesystem type mounted at or containing `path` ("btrfs", "ext4", "tmpfs", ...). */
export async function filesystemType(path: string): Promise<string> {
  return (await run(["stat", "-f", "-c", "%T", path], `find the filesystem of "${path}"`)).trim();
}

export async function isMountPoint(path: string): Promise<boolean> {
  const out = await new Deno.Command("mountpoint", { args: ["-q", path], stdout: "null", stderr: "null" })
    .output();
  return out.success;
}

/**
 * Creates `<stackerDir>/btrfs.loop` (sparse), formats it and mounts it on `rootsDir`; both dirs end
 * up owned by `uid:gid`. If the roots dir already is a btrfs mount, only the ownership is fixed
 * (idempotent re-run). Both dirs are reached through `openTrustedDir`, and the file, mkfs and mount
 * work on fds (`/proc/<pid>/fd/N` for the tools), so a symlink planted in a directory the user
 * controls is refused, never followed.
 */
export async function setupBtrfsLoopback(opts: BtrfsLoopbackOptions): Promise<{ loopFile: string }> {
  const sd = splitLast(opts.stackerDir);
  const rd = splitLast(opts.rootsDir);
  using stackerParent = openTrustedDir(sd.parent, { create: true });
  using stacker = ensureOwnedDir(stackerParent, sd.name, opts);
  using rootsParent = openTrustedDir(rd.parent, { create: true });
  ensureOwnedDir(rootsParent, rd.name, opts)[Symbol.dispose]();
  await mountLoopback(stacker, rootsParent, rd.name, opts);
  return { loopFile: `${opts.stackerDir}/btrfs.loop` };
}

/**
 * The loopback btrfs of `stacker`/btrfs.loop mounted on `rootsParent`/`rootsName` (already a
 * btrfs mount: left as it is), its root handed to `uid:gid`. The caller holds both dirs open.
 */
export async function mountLoopback(
  stacker: DirFd,
  rootsParent: DirFd,
  rootsName: string,
  opts: Pick<BtrfsLoopbackOptions, "uid" | "gid" | "size">,
): Promise<void> {
  const rootsPath = `${rootsParent.path}/${rootsName}`;
  if (!(await isMountPoint(rootsPath) && await filesystemType(rootsPath) === "btrfs")) {
    let fd = openFileIn(stacker, "btrfs.loop", O_RDWR);
    try {
      if (fd === undefined) {
        fd = createFileIn(stacker, "btrfs.loop", 0o600);
        ftruncateFd(fd, opts.size ?? 100 * 2 ** 30, `${stacker.path}/btrfs.loop`);
        await run(["mkfs.btrfs", "-q", "-f", procFd(fd)], `format "${stacker.path}/btrfs.loop" as btrfs`);
      }
      using roots = openDirIn(rootsParent, rootsName);
      await run(
        ["mount", "--no-canonicalize", "-o", "loop,user_subvol_rm_allowed", procFd(fd), roots.procPath],
        `mount "${stacker.path}/btrfs.loop" on "${rootsPath}"`,
      );
    } finally {
      if (fd !== undefined) closeAt(fd);
    }
  }
  // Opened again by name: now the root of the mounted filesystem.
  using mounted = openDirIn(rootsParent, rootsName);
  fchownFd(mounted.fd, opts.uid, opts.gid, rootsPath);
}

function procFd(fd: number): string {
  return `/proc/${Deno.pid}/fd/${fd}`;
}

/** Unmounts the loopback btrfs from the roots dir (lazy, so a busy cwd does not block it). */
export async function unmountBtrfsLoopback(rootsDir: string): Promise<void> {
  if (await isMountPoint(rootsDir)) await run(["umount", "-l", rootsDir], `unmount "${rootsDir}"`);
}

/**
 * Root's part of cleaning a directory a user controls: lazily unmounts the roots dir only when it
 * is the mount of `<stackerDir>/btrfs.loop` that unpriv-setup made, checked on an fd (its mount
 * id, source loop device and backing file) and unmounted through that fd, so a roots dir the user
 * swapped for a link to another mount unmounts nothing. Returns whether it unmounted.
 */
export async function unmountOwnLoopback(stackerDir: string, rootsDir: string): Promise<boolean> {
  let fd: number;
  try {
    fd = openFd(rootsDir, O_PATH | O_DIRECTORY | O_NOFOLLOW);
  } catch {
    return false;
  }
  try {
    const mntId = /^mnt_id:\s*(\d+)$/m.exec(await Deno.readTextFile(`/proc/self/fdinfo/${fd}`))?.[1];
    const line = (await Deno.readTextFile("/proc/self/mountinfo")).split("\n").find((l) =>
      l.split(" ")[0] === mntId
    );
    const [pre, post] = line?.split(" - ") ?? [];
    const [fstype, source] = post?.split(" ") ?? [];
    if (pre?.split(" ")[3] !== "/" || fstype !== "btrfs" || !/^\/dev\/loop\d+$/.test(source ?? "")) {
      return false;
    }
    const backing = (await Deno.readTextFile(`/sys/block/${source.slice(5)}/loop/backing_file`)).trim();
    const loop = await Deno.lstat(`${stackerDir}/btrfs.loop`).catch(() => undefined);
    const real = await Deno.lstat(backing).catch(() => undefined);
    if (!loop?.isFile || !real || loop.ino !== real.ino || loop.dev !== real.dev) return false;
    umount(`/proc/self/fd/${fd}`, MNT_DETACH);
    return true;
  } finally {
    closeFd(fd);
  }
}
