/** `stacker version`: prints the version line. */
import { STACKER_VERSION } from "../util/version.ts";
import { VERSION_META } from "./_meta.ts";
import type { CommandDef } from "./types.ts";

export const versionCommand: CommandDef = {
  ...VERSION_META,
  run(ctx) {
    ctx.print(`stacker ${STACKER_VERSION} (stacker-ts)`);
    return Promise.resolve(0);
  },
};
