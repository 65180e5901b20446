import assert from "node:assert/strict";
import { versionCommand } from "../../lib/commands/version.ts";
import { STACKER_VERSION } from "../../lib/util/version.ts";
import { runtimeCtx } from "./_runtime_ctx.ts";

Deno.test("version prints stacker's line: stacker <version> liblxc <version>", async () => {
  const ctx = runtimeCtx({ dir: "/nonexistent", args: [] });
  const code = await versionCommand.run(ctx);
  assert.equal(code, 0);
  assert.equal(ctx.lines.length, 1);
  assert.match(
    ctx.lines[0],
    new RegExp(`^stacker ${STACKER_VERSION.replaceAll(".", "\\.")} liblxc \\d+\\.\\d+\\S*$`),
  );
});
