import assert from "node:assert/strict";
import { stubCommand } from "../../lib/commands/_stubs.ts";
import { CONVERT_META } from "../../lib/commands/_meta.ts";
import { NotImplementedError } from "../../lib/util/errors.ts";
import { runtimeCtx } from "./_runtime_ctx.ts";

Deno.test("stubCommand() keeps the metadata and fails with NotImplementedError (exit 2), never pretends", async () => {
  const stub = stubCommand(CONVERT_META);
  assert.equal(stub.name, "convert");
  assert.deepEqual(stub.flags, CONVERT_META.flags);
  await assert.rejects(
    () => stub.run(runtimeCtx({ dir: "/nonexistent" })),
    (e) => e instanceof NotImplementedError && e.exitCode === 2 && e.message.includes('"stacker convert"'),
  );
});
