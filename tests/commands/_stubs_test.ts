import assert from "node:assert/strict";
import { STUB_COMMANDS } from "../../lib/commands/_stubs.ts";
import { COMMANDS } from "../../lib/commands/mod.ts";
import { NotImplementedError } from "../../lib/util/errors.ts";
import { runtimeCtx } from "./_runtime_ctx.ts";

Deno.test("every command of the CLI contract exists (as a stub until it lands)", () => {
  const names = new Set(COMMANDS.flatMap((c) => [c.name, ...(c.aliases ?? [])]));
  for (
    const n of [
      "build",
      "recursive-build",
      "publish",
      "inspect",
      "grab",
      "chroot",
      "exec",
      "clean",
      "check",
      "unpriv-setup",
      "version",
      "gc",
    ]
  ) assert.ok(names.has(n), n);
});

Deno.test("a command that has not landed fails with NotImplementedError (exit 2), never pretends", async () => {
  const landed = new Set(COMMANDS.map((c) => c));
  for (const stub of STUB_COMMANDS) {
    if (!landed.has(stub)) continue; // replaced by a real implementation
    await assert.rejects(
      () => stub.run(runtimeCtx({ dir: "/nonexistent" })),
      (e) => e instanceof NotImplementedError && e.exitCode === 2,
    );
  }
});
