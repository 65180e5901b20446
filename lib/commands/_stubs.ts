/**
 * A command of the CLI contract whose implementation has not landed yet: it has its final metadata
 * (so parsing and `--help` are right) and fails with NotImplementedError (exit 2): nothing pretends
 * to work. mod.ts loads it in place of the module until the command lands.
 */
import { NotImplementedError } from "../util/errors.ts";
import type { CommandDef, CommandMeta } from "./types.ts";

/** The stand-in implementation of `meta`: every run rejects with NotImplementedError. */
export function stubCommand(meta: CommandMeta): CommandDef {
  return {
    ...meta,
    run() {
      return Promise.reject(new NotImplementedError(`"stacker ${meta.name}"`));
    },
  };
}
