import assert from "node:assert/strict";
import { versionCommand } from "../../lib/commands/version.ts";
import { STACKER_VERSION } from "../../lib/util/version.ts";
import { runtimeCtx } from "./_runtime_ctx.ts";

Deno.test("version prints one line naming the version", async () => {
  const ctx = runtimeCtx({ dir: "/nonexistent", args: [] });
  const code = await versionCommand.run(ctx);
  assert.equal(code, 0);
  assert.deepEqual(ctx.lines, [`stacker ${STACKER_VERSION} (stacker-ts)`]);
});
