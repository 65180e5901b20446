import assert from "node:assert/strict";
import { BuildError } from "../../lib/util/errors.ts";
import { buildCommand, onRunFailureOf } from "../../lib/commands/build.ts";
import { BUILD_FLAGS } from "../../lib/commands/_flags.ts";

Deno.test("onRunFailureOf() merges --shell-fail and --on-run-failure", () => {
  assert.equal(onRunFailureOf({}), undefined);
  assert.equal(onRunFailureOf({ "shell-fail": true }), "/bin/sh");
  assert.equal(onRunFailureOf({ "on-run-failure": "/bin/bash" }), "/bin/bash");
  assert.equal(onRunFailureOf({ "shell-fail": true, "on-run-failure": "/bin/sh" }), "/bin/sh");
  assert.throws(() => onRunFailureOf({ "shell-fail": true, "on-run-failure": "/bin/bash" }), BuildError);
});

Deno.test("buildCommand takes -f and every build flag of the CLI contract", () => {
  const names = buildCommand.flags.map((f) => f.name);
  assert.ok(names.includes("stacker-file"));
  for (const f of BUILD_FLAGS) assert.ok(names.includes(f.name), f.name);
});
