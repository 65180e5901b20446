/**
 * `stacker unpriv-setup` (spec §4), as root: subordinate id ranges for a user plus its stacker and
 * roots dirs, so it can build without sudo. Never re-executes into a user namespace.
 */
import { unprivSetup, userName } from "../runtime/mod.ts";
import { StackerError } from "../util/errors.ts";
import { setupUserDirs } from "../storage/mod.ts";
import { UNPRIV_SETUP_META } from "./_meta.ts";
import type { CommandDef } from "./types.ts";

export const unprivSetupCommand: CommandDef = {
  ...UNPRIV_SETUP_META,
  async run(ctx) {
    if (Deno.uid() !== 0) {
      throw new StackerError("Cannot run unpriv-setup: it must run as root (use sudo)", {
        code: "unpriv.not-root",
      });
    }
    const num = (flag: string, env: string): number | undefined => {
      const v = ctx.flags[flag] ?? ctx.env[env];
      if (v === undefined || v === "") return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) {
        throw new StackerError(`Cannot use --${flag} "${v}": not a user or group id`, { code: "cli.usage" });
      }
      return n;
    };
    const uid = num("uid", "SUDO_UID");
    const gid = num("gid", "SUDO_GID") ?? uid;
    if (uid === undefined || gid === undefined) {
      throw new StackerError("Cannot run unpriv-setup: give --uid (or run it through sudo)", {
        code: "cli.usage",
      });
    }
    const username = (ctx.flags["username"] as string | undefined) ?? ctx.env.SUDO_USER ??
      await userName(uid);
    if (!username) {
      throw new StackerError(`Cannot run unpriv-setup: no user name for uid ${uid} (give --username)`, {
        code: "cli.usage",
      });
    }
    // Directories first: an existing stacker dir is refused before /etc is touched.
    const { loopFile } = await setupUserDirs({
      stackerDir: ctx.global.stackerDir,
      rootsDir: ctx.global.rootsDir,
      uid,
      gid,
      storageType: ctx.global.storageType === "btrfs" ? "btrfs" : undefined,
    });
    await unprivSetup({ username, uid, gid, path: ctx.env.PATH, log: ctx.log });
    // As stacker once did: a sparse loopback btrfs mounted on the roots dir, handed to the user.
    if (loopFile) ctx.print(`btrfs loopback ${loopFile} mounted on ${ctx.global.rootsDir}`);
    ctx.print(`${username} (${uid}:${gid}) can now build in ${ctx.global.stackerDir} without sudo`);
    return 0;
  },
};
