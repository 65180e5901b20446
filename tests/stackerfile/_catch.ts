/** Test helpers of tests/stackerfile: the StackerfileError a call throws. */
import assert from "node:assert/strict";
import { StackerfileError } from "../../lib/util/errors.ts";

/** The StackerfileError `fn` throws (sync or async); fails the test when it throws nothing else. */
export async function stackerfileError(fn: () => unknown): Promise<StackerfileError> {
  try {
    await fn();
  } catch (err) {
    assert.ok(err instanceof StackerfileError, `expected a StackerfileError, got ${err}`);
    return err;
  }
  assert.fail("expected a StackerfileError, nothing was thrown");
}
