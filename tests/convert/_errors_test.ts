import assert from "node:assert/strict";
import { convertError } from "../../lib/convert/_errors.ts";
import { StackerError } from "../../lib/util/errors.ts";

Deno.test("convertError() names the file, line and instruction, with a convert.* code", () => {
  const e = convertError(
    { file: "app/Dockerfile", line: 12, keyword: "ADD" },
    "unsupported",
    "ADD is not supported",
  );
  assert.ok(e instanceof StackerError);
  assert.equal(e.code, "convert.unsupported");
  assert.equal(e.message, 'Cannot convert "app/Dockerfile" line 12 (ADD): ADD is not supported');
  assert.deepEqual(e.context, { file: "app/Dockerfile", line: 12, instruction: "ADD" });
  assert.equal(e.exitCode, 1);
});
