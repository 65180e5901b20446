/** The run helper as a standalone program, so build tests do not depend on cli.ts's command table. */
import { runHelper } from "../../../lib/runtime/mod.ts";

if (import.meta.main) {
  const req = JSON.parse(await Deno.readTextFile(Deno.args[0]));
  Deno.exit(await runHelper(req));
}
