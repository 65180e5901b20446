/**
 * `stacker clean`: removes what stacker made — the roots dir (through its storage backend, so
 * every backend's state goes), the output layout and the stacker dir. Runs inside the user
 * namespace when unprivileged, so files owned by subordinate ids can be removed too.
 */
import {
  isMountPoint,
  openStorage,
  recordedStorageType,
  removeTree,
  unmountBtrfsLoopback,
} from "../storage/mod.ts";
import { CLEAN_META } from "./_meta.ts";
import type { CommandDef } from "./types.ts";

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch {
    return false;
  }
}

export const cleanCommand: CommandDef = {
  ...CLEAN_META,
  async run(ctx) {
    const g = ctx.global;
    if (await exists(g.rootsDir)) {
      const type = await recordedStorageType(g.stackerDir);
      if (type) {
        const storage = await openStorage({
          rootsDir: g.rootsDir,
          stackerDir: g.stackerDir,
          type,
          log: ctx.log,
        });
        await storage.clean();
      }
      if (!(await isMountPoint(g.rootsDir))) {
        await removeTree(g.rootsDir);
      } else if (Deno.uid() === 0 && await exists(`${g.stackerDir}/btrfs.loop`)) {
        // The loopback btrfs of unpriv-setup: root unmounts it, and the file goes with the stacker dir.
        await unmountBtrfsLoopback(g.rootsDir);
        await removeTree(g.rootsDir);
      } else {
        // A mount the user cannot undo (e.g. the loopback btrfs): empty it and keep the mount point.
        for await (const e of Deno.readDir(g.rootsDir)) await removeTree(`${g.rootsDir}/${e.name}`);
      }
    }
    for (const dir of [g.ociDir, g.stackerDir]) await removeTree(dir);
    ctx.log.debug("cleaned", { roots: g.rootsDir, oci: g.ociDir, stacker: g.stackerDir });
    return 0;
  },
};
