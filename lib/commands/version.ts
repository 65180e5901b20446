/** `stacker version`: prints the version line. */
import { STACKER_VERSION } from "../util/version.ts";
import type { CommandDef } from "./types.ts";

export const versionCommand: CommandDef = {
  name: "version",
  summary: "print the version",
  flags: [],
  noUserns: true,
  run(ctx) {
    ctx.print(`stacker ${STACKER_VERSION} (stacker-ts)`);
    return Promise.resolve(0);
  },
};
