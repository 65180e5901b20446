/**
 * `unpriv-setup --storage-type btrfs`: a sparse loopback file formatted as btrfs and mounted on the
 * roots dir with `user_subvol_rm_allowed`, owned by the unprivileged user, as the original stacker
 * once did. Root only (mkfs and mount); the runtime's unpriv-setup command calls it.
 * `unmountBtrfsLoopback` undoes the mount (the loop device goes with it: mount -o loop sets autoclear).
 */
import { StorageError } from "../util/errors.ts";

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
 * Creates `<stackerDir>/btrfs.loop` (sparse), formats it and mounts it on `rootsDir`. If the roots
 * dir already is a btrfs mount, only the ownership is fixed (idempotent re-run).
 */
export async function setupBtrfsLoopback(opts: BtrfsLoopbackOptions): Promise<{ loopFile: string }> {
  const loopFile = `${opts.stackerDir}/btrfs.loop`;
  await Deno.mkdir(opts.stackerDir, { recursive: true });
  await Deno.mkdir(opts.rootsDir, { recursive: true });
  if (!(await isMountPoint(opts.rootsDir) && await filesystemType(opts.rootsDir) === "btrfs")) {
    let fresh = false;
    try {
      await Deno.lstat(loopFile);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      fresh = true;
    }
    if (fresh) {
      const f = await Deno.open(loopFile, { write: true, createNew: true, mode: 0o600 });
      try {
        await f.truncate(opts.size ?? 100 * 2 ** 30);
      } finally {
        f.close();
      }
      await run(["mkfs.btrfs", "-q", loopFile], `format "${loopFile}" as btrfs`);
    }
    await run(
      ["mount", "-o", "loop,user_subvol_rm_allowed", loopFile, opts.rootsDir],
      `mount "${loopFile}" on "${opts.rootsDir}"`,
    );
  }
  await Deno.chown(opts.rootsDir, opts.uid, opts.gid);
  await Deno.chown(opts.stackerDir, opts.uid, opts.gid);
  return { loopFile };
}

/** Unmounts the loopback btrfs from the roots dir (lazy, so a busy cwd does not block it). */
export async function unmountBtrfsLoopback(rootsDir: string): Promise<void> {
  if (await isMountPoint(rootsDir)) await run(["umount", "-l", rootsDir], `unmount "${rootsDir}"`);
}
