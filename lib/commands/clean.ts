/**
 * `stacker clean`: removes what stacker made — the roots dir (through its storage backend, so
 * every backend's state goes), the output layout and the stacker dir. Runs inside the user
 * namespace when unprivileged, so files owned by subordinate ids can be removed too. Removal never
 * follows a symlink: a link where stacker's own directories should be is removed, not entered.
 *
 * Root in directories another user controls only undoes what root alone can (unpriv-setup's
 * loopback mount), then cleans as that user.
 *
 * Before removing anything it takes the locks a build takes (waiting as `--lock-timeout` says)
 * and the output layout exclusively, so it never removes what a running build, publish or gc of
 * another stacker dir still writes or reads.
 */
import { selfCommand } from "../runtime/self_command.ts";
import {
  isMountPoint,
  openStorage,
  recordedStorageType,
  removeTree,
  unmountBtrfsLoopback,
  unmountOwnLoopback,
} from "../storage/mod.ts";
import { StorageError } from "../util/errors.ts";
import { lockDir } from "../builder/mod.ts";
import { describeHolder, LayoutLock } from "../oci/mod.ts";
import { CLEAN_META } from "./_meta.ts";
import { foreignController, rerunAsOwner } from "./_root_guard.ts";
import type { CommandContext, CommandDef } from "./types.ts";

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * The backend's own clean-up; skipped when its directories are not real ones (removeTree then
 * unlinks them) or its loopback btrfs is no longer mounted.
 */
async function cleanStorage(ctx: CommandContext): Promise<void> {
  const g = ctx.global;
  const type = await recordedStorageType(g.stackerDir);
  if (!type) return;
  try {
    const storage = await openStorage({ rootsDir: g.rootsDir, stackerDir: g.stackerDir, type, log: ctx.log });
    await storage.clean();
  } catch (err) {
    if (!(err instanceof StorageError)) throw err;
    // The loopback btrfs is gone already (root unmounted it before handing over): plain files remain.
    if (err.code === "storage.not-btrfs") return;
    if (err.code !== "storage.not-a-dir") throw err;
    ctx.log.warn(`${err.message}: removing it without following it`);
  }
}

/**
 * The stacker-dir and roots-dir locks and the output layout's exclusive lock, for each of them
 * that exists as a directory (nothing is created or entered through a link just to lock it).
 */
async function lockForClean(ctx: CommandContext): Promise<AsyncDisposableStack> {
  const g = ctx.global;
  const stack = new AsyncDisposableStack();
  try {
    const isDir = async (p: string, follow: boolean) =>
      (await (follow ? Deno.stat(p) : Deno.lstat(p)).catch(() => undefined))?.isDirectory === true;
    const wait = { timeoutMs: g.lockTimeoutMs, log: ctx.log, signal: ctx.signal };
    if (await isDir(g.stackerDir, false)) stack.use(await lockDir(g.stackerDir, wait));
    if (await isDir(g.rootsDir, true) && g.rootsDir !== g.stackerDir) {
      stack.use(await lockDir(g.rootsDir, wait));
    }
    if (await isDir(g.ociDir, false)) {
      stack.use(
        await new LayoutLock(g.ociDir, {
          timeoutMs: g.lockTimeoutMs,
          onWait: (h, path) => ctx.log.info(`waiting for lock held by ${describeHolder(h)} on ${path}`),
        }).exclusive(),
      );
    }
    return stack;
  } catch (err) {
    await stack.disposeAsync();
    throw err;
  }
}

export const cleanCommand: CommandDef = {
  ...CLEAN_META,
  async run(ctx) {
    const g = ctx.global;
    if (Deno.uid() === 0 && !g.internalUserns) {
      const owner = foreignController(g);
      if (owner) {
        await unmountOwnLoopback(g.stackerDir, g.rootsDir);
        return await rerunAsOwner(owner, ctx.argv, ctx.env, selfCommand());
      }
    }
    await using _locks = await lockForClean(ctx);
    // The roots dir may be a link its owner made (roots -> /big/disk/roots): its contents go too.
    if ((await Deno.stat(g.rootsDir).catch(() => undefined))?.isDirectory) {
      await cleanStorage(ctx);
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
    for (const dir of [g.rootsDir, g.ociDir, g.stackerDir]) await removeTree(dir);
    ctx.log.debug("cleaned", { roots: g.rootsDir, oci: g.ociDir, stacker: g.stackerDir });
    return 0;
  },
};
