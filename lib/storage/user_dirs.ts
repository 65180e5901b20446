/**
 * The directories `unpriv-setup` (spec §4) makes for a user: the stacker dir and the roots dir,
 * owned by the user, plus for btrfs a loopback filesystem on the roots dir and `storage.type`.
 * Root does this in a directory the user controls, so everything goes through `trusted_dirs.ts`:
 * parents walked without following anyone else's symlinks, an existing roots dir that is a symlink
 * or someone else's refused, files created O_EXCL|O_NOFOLLOW and chowned by fd.
 */
import { closeAt, fchownFd, statAt, writeAllFd } from "../ffi/fs_at.ts";
import { Errno } from "../ffi/libc.ts";
import { OsError, StackerError } from "../util/errors.ts";
import { mountLoopback } from "./btrfs_loopback.ts";
import { createFileIn, ensureOwnedDir, openTrustedDir, splitLast } from "./trusted_dirs.ts";

export interface UserDirsOptions {
  readonly stackerDir: string;
  readonly rootsDir: string;
  readonly uid: number;
  readonly gid: number;
  /** "btrfs": a sparse loopback btrfs mounted on the roots dir, recorded in `storage.type`. */
  readonly storageType?: "btrfs";
  /** Size of the loopback file (default 100 GiB, sparse). */
  readonly loopSize?: number;
}

/**
 * Makes the user's stacker and roots dirs; refuses an existing stacker dir (StackerError
 * `unpriv.stacker-dir-exists`, stacker's words), and a roots dir or parent someone else controls
 * (StorageError `storage.untrusted-path`). Returns the loopback file when one was made.
 */
export async function setupUserDirs(opts: UserDirsOptions): Promise<{ loopFile?: string }> {
  const sd = splitLast(opts.stackerDir);
  const rd = splitLast(opts.rootsDir);
  using stackerParent = openTrustedDir(sd.parent, { create: true });
  let exists = true;
  try {
    statAt(stackerParent.fd, sd.name, opts.stackerDir);
  } catch (e) {
    if (!(e instanceof OsError && e.errno === Errno.ENOENT)) throw e;
    exists = false;
  }
  if (exists) {
    throw new StackerError(`stacker dir ${opts.stackerDir} already exists, aborting setup`, {
      code: "unpriv.stacker-dir-exists",
      context: { stackerDir: opts.stackerDir },
    });
  }
  using rootsParent = openTrustedDir(rd.parent, { create: true });
  using stacker = ensureOwnedDir(stackerParent, sd.name, opts);
  ensureOwnedDir(rootsParent, rd.name, opts)[Symbol.dispose]();
  if (opts.storageType !== "btrfs") return {};
  await mountLoopback(stacker, rootsParent, rd.name, { ...opts, size: opts.loopSize });
  const fd = createFileIn(stacker, "storage.type", 0o644);
  try {
    writeAllFd(fd, new TextEncoder().encode("btrfs\n"), `${stacker.path}/storage.type`);
    fchownFd(fd, opts.uid, opts.gid, `${stacker.path}/storage.type`);
  } finally {
    closeAt(fd);
  }
  return { loopFile: `${opts.stackerDir}/btrfs.loop` };
}
