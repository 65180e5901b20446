/**
 * What `stacker check` reports about storage: the roots dir's filesystem and, per backend, whether
 * it can work here and what it needs. The answers come from the filesystem type and the effective
 * uid only; nothing is mounted or created except the roots dir itself.
 */
import { filesystemType, isMountPoint } from "./btrfs_loopback.ts";
import type { StorageType } from "./open_storage.ts";

export interface BackendRequirement {
  readonly type: StorageType;
  readonly ok: boolean;
  readonly detail: string;
}

export interface StorageRequirements {
  readonly rootsDir: string;
  /** As `stat -f -c %T` names it: "btrfs", "ext2/ext3", "tmpfs", "overlayfs", ... */
  readonly filesystem: string;
  readonly backends: readonly BackendRequirement[];
}

/** The nearest existing ancestor of `path`, whose filesystem the roots dir will be made on. */
async function existingAncestor(path: string): Promise<string> {
  let p = path;
  for (;;) {
    try {
      await Deno.stat(p);
      return p;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      const i = p.replace(/\/+$/, "").lastIndexOf("/");
      p = i <= 0 ? "/" : p.slice(0, i);
    }
  }
}

export async function storageRequirements(rootsDir: string): Promise<StorageRequirements> {
  const at = await existingAncestor(rootsDir);
  const filesystem = await filesystemType(at);
  const root = Deno.uid() === 0;
  const backends: BackendRequirement[] = [];
  // overlayfs refuses an upper dir on overlayfs, and userxattr needs xattr support in the upper.
  const overlayOk = filesystem !== "overlayfs" && filesystem !== "nfs";
  backends.push({
    type: "overlay",
    ok: overlayOk,
    detail: overlayOk
      ? `upper dirs on ${filesystem}; mounted with userxattr (kernel >= 5.11 for unprivileged overlay)`
      : `cannot put overlay upper dirs on ${filesystem}: use another roots dir`,
  });
  const btrfsMounted = filesystem === "btrfs";
  backends.push({
    type: "btrfs",
    ok: btrfsMounted,
    detail: btrfsMounted
      ? (await isMountPoint(at)) && at === rootsDir
        ? "roots dir is a btrfs mount (user_subvol_rm_allowed is needed to delete subvolumes as non-root)"
        : "roots dir is on btrfs (user_subvol_rm_allowed is needed to delete subvolumes as non-root)"
      : root
      ? `roots dir is on ${filesystem}: run "stacker unpriv-setup --storage-type btrfs" to mount a loopback btrfs`
      : `roots dir is on ${filesystem}: root must run "stacker unpriv-setup --storage-type btrfs" first`,
  });
  const reflink = filesystem === "btrfs" || filesystem === "xfs";
  backends.push({
    type: "copy",
    ok: true,
    detail: reflink ? `reflink copies on ${filesystem}` : `full copies on ${filesystem} (no reflinks)`,
  });
  return { rootsDir, filesystem, backends };
}
