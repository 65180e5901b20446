/**
 * `stacker internal-run REQUEST.json` (hidden): the run helper. The main process starts it once per
 * container run (lib/runtime/run_in_container.ts); it drives liblxc and exits with the command's
 * status. It never re-executes into a user namespace: it runs in whichever namespace its parent is.
 */
import { runHelper } from "../runtime/mod.ts";
import type { HelperRequest } from "../runtime/mod.ts";
import { StackerError } from "../util/errors.ts";
import type { CommandDef } from "./types.ts";

export const internalRunCommand: CommandDef = {
  name: "internal-run",
  summary: "run one container (internal helper)",
  usage: "REQUEST.json",
  hidden: true,
  noUserns: true,
  flags: [],
  async run(ctx) {
    const file = ctx.args[0];
    if (!file || ctx.args.length !== 1) {
      throw new StackerError("Cannot run internal-run: expected one request file", { code: "cli.usage" });
    }
    const req = JSON.parse(await Deno.readTextFile(file)) as HelperRequest;
    return await runHelper(req);
  },
};
