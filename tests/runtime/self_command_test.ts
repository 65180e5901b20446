/** selfCommand(): how the program starts itself again. */
import assert from "node:assert/strict";
import { selfCommand } from "../../lib/runtime/mod.ts";
import { cliPath, isCompiled } from "../../lib/runtime/self_command.ts";

Deno.test("selfCommand() under deno run is deno run -A --cached-only <abs cli.ts>", async () => {
  assert.equal(isCompiled(), false);
  const argv = selfCommand();
  assert.deepEqual(argv.slice(0, 4), [Deno.execPath(), "run", "-A", "--cached-only"]);
  assert.equal(argv[4], cliPath());
  assert.ok(argv[4].startsWith("/") && argv[4].endsWith("/cli.ts"));
  assert.ok((await Deno.stat(argv[4])).isFile);
  // It really starts the program.
  const out = await new Deno.Command(argv[0], { args: [...argv.slice(1), "version"], stdout: "piped" })
    .output();
  assert.equal(out.code, 0);
  assert.match(new TextDecoder().decode(out.stdout), /^stacker /);
});
