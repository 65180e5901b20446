/**
 * `stacker internal-run REQUEST.json` (hidden): the run helper. The main process starts it once per
 * container run (lib/runtime/run_in_container.ts); it drives liblxc and exits with the command's
 * status. It never re-executes into a user namespace: it runs in whichever namespace its parent is.
 */
// helper.ts directly, not runtime/mod.ts: the helper starts once per run step, and the rest of the
// runtime (host-side cleanup, requirements) brings Deno's Node layer (~25 ms) it never uses.
import { runHelper } from "../runtime/helper.ts";
import type { HelperRequest } from "../runtime/helper.ts";
import { StackerError } from "../util/errors.ts";
import { INTERNAL_RUN_META } from "./_meta.ts";
import type { CommandDef } from "./types.ts";

/** The helper's whole job: read the request file named by `args`, run it, return the exit status. */
export async function runInternal(args: readonly string[]): Promise<number> {
  const file = args[0];
  if (!file || args.length !== 1) {
    throw new StackerError("Cannot run internal-run: expected one request file", { code: "cli.usage" });
  }
  const req = JSON.parse(await Deno.readTextFile(file)) as HelperRequest;
  return await runHelper(req);
}

export const internalRunCommand: CommandDef = {
  ...INTERNAL_RUN_META,
  run(ctx) {
    return runInternal(ctx.args);
  },
};
