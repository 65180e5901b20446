/**
 * `stacker chroot [LAYER] [CMD]` (alias `exec`): an interactive command (default /bin/sh) in a
 * container with the build's mounts and environment. On a built layer it needs a throw-away
 * snapshot from the build and storage (not wired yet: NotImplementedError); the hidden `--rootfs DIR`
 * runs in an existing rootfs directory instead, whose changes are kept.
 */
import { buildEnvironment, runInteractive } from "../runtime/mod.ts";
import { NotImplementedError, StackerError } from "../util/errors.ts";
import { STACKER_FILE_FLAG, SUBSTITUTE_FLAGS } from "./_flags.ts";
import type { CommandDef } from "./types.ts";

export const chrootCommand: CommandDef = {
  name: "chroot",
  aliases: ["exec"],
  summary: "interactive shell in a throw-away snapshot of a built layer",
  usage: "[LAYER] [CMD]",
  flags: [
    STACKER_FILE_FLAG,
    ...SUBSTITUTE_FLAGS,
    { name: "rootfs", type: "string", help: "run in this rootfs directory (changes are kept)", hidden: true },
  ],
  async run(ctx) {
    const [layer, cmd, ...rest] = ctx.args;
    if (rest.length > 0) {
      throw new StackerError("Cannot run chroot: give at most a layer and one command word", {
        code: "cli.usage",
      });
    }
    const rootfs = ctx.flags["rootfs"] as string | undefined;
    if (!rootfs) {
      throw new NotImplementedError('"stacker chroot" of a built layer (needs the build\'s snapshots)');
    }
    const abs = rootfs.startsWith("/") ? rootfs : `${Deno.cwd()}/${rootfs}`;
    const name = layer ?? "chroot";
    const r = await runInteractive({
      layer: name,
      lxcRootfs: { path: `dir:${abs}` },
      stackerDir: ctx.global.stackerDir,
      env: buildEnvironment({ name }, ctx.env),
      log: ctx.log,
      signal: ctx.signal,
    }, cmd ?? "/bin/sh");
    return r.exitCode;
  },
};
