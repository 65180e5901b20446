import assert from "node:assert/strict";
import { unprivSetupCommand } from "../../lib/commands/unpriv_setup.ts";
import { StackerError } from "../../lib/util/errors.ts";
import { runtimeCtx } from "./_runtime_ctx.ts";

Deno.test("unpriv-setup needs a uid and refuses an existing stacker dir before touching /etc", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await assert.rejects(unprivSetupCommand.run(runtimeCtx({ dir, env: {} })), StackerError);
    await Deno.mkdir(`${dir}/.stacker`);
    const before = await Deno.readTextFile("/etc/subuid");
    await assert.rejects(
      unprivSetupCommand.run(runtimeCtx({ dir, flags: { uid: 4999, username: "nobody-here" } })),
      /already exists/,
    );
    assert.equal(await Deno.readTextFile("/etc/subuid"), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
