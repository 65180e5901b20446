/**
 * The run helper as a standalone program, for tests and the benchmark: the same code cli.ts runs
 * for `internal-run`, without depending on the command table being wired.
 */
import { runHelper } from "../../lib/runtime/helper.ts";

if (import.meta.main) {
  const req = JSON.parse(await Deno.readTextFile(Deno.args[0]));
  Deno.exit(await runHelper(req));
}
