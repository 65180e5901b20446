/** `stacker gc`: remove blobs and roots that no tag or cache entry references. */
import { BuildCache, collectGarbage, lockDir, openServices } from "../builder/mod.ts";
import { GC_META } from "./_meta.ts";
import type { CommandDef } from "./types.ts";

export const gcCommand: CommandDef = {
  ...GC_META,
  async run(ctx) {
    const wait = { timeoutMs: ctx.global.lockTimeoutMs, log: ctx.log, signal: ctx.signal };
    await using _lock = await lockDir(ctx.global.stackerDir, wait);
    const services = await openServices({
      lockTimeoutMs: ctx.global.lockTimeoutMs,
      ociDir: ctx.global.ociDir,
      stackerDir: ctx.global.stackerDir,
      rootsDir: ctx.global.rootsDir,
      storageType: ctx.global.storageType,
      env: ctx.env,
      log: ctx.log,
    });
    const cache = await BuildCache.open(`${ctx.global.stackerDir}/build.cache`, { log: ctx.log });
    const r = await collectGarbage(services, cache);
    ctx.log.info(`gc: layout ${JSON.stringify(r.layout)}, storage removed ${r.storage.removed}`);
    return 0;
  },
};
