/** `stacker grab LAYER:PATH [DEST]`: copy a file or directory out of a built layer. */
import { grab, lockDir, openServices, parseGrabSpec } from "../builder/mod.ts";
import { BuildError } from "../util/errors.ts";
import { GRAB_META } from "./_meta.ts";
import type { CommandDef } from "./types.ts";

export const grabCommand: CommandDef = {
  ...GRAB_META,
  async run(ctx) {
    if (ctx.args.length < 1 || ctx.args.length > 2) {
      throw new BuildError("Cannot grab: expected LAYER:PATH [DEST]", { code: "build.bad-grab" });
    }
    const { layer, path } = parseGrabSpec(ctx.args[0]);
    await using _lock = await lockDir(ctx.global.stackerDir, {
      timeoutMs: ctx.global.lockTimeoutMs,
      log: ctx.log,
      signal: ctx.signal,
    });
    const services = await openServices({
      ociDir: ctx.global.ociDir,
      stackerDir: ctx.global.stackerDir,
      rootsDir: ctx.global.rootsDir,
      storageType: ctx.global.storageType,
      env: ctx.env,
      log: ctx.log,
    });
    await grab({ services, layer, path, dest: ctx.args[1] ?? Deno.cwd() });
    return 0;
  },
};
