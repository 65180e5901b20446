import assert from "node:assert/strict";
import {
  causeChain,
  errorLine,
  LayerError,
  NotImplementedError,
  RegistryError,
  StackerError,
} from "../../lib/util/errors.ts";

Deno.test("StackerError carries code, context, cause and exit code; subclasses keep their name", () => {
  const cause = new Error("disk on fire");
  const e = new LayerError('Cannot unpack entry "../x": it leaves the rootfs', {
    code: "layer.escape",
    context: { entry: "../x", digest: "sha256:ab" },
    cause,
  });
  assert.ok(e instanceof StackerError);
  assert.equal(e.name, "LayerError");
  assert.equal(e.code, "layer.escape");
  assert.equal(e.context.entry, "../x");
  assert.equal(e.cause, cause);
  assert.equal(e.exitCode, 1);
});

Deno.test("causeChain() lists the message of every cause, outermost first, with context", () => {
  const inner = new RegistryError("Cannot fetch blob: 503", {
    code: "registry.status",
    status: 503,
    retryable: true,
  });
  const outer = new StackerError("Cannot pull base", {
    code: "transport.pull",
    cause: inner,
    context: { layer: "a" },
  });
  const chain = causeChain(outer);
  assert.equal(chain.length, 2);
  assert.match(chain[0], /Cannot pull base.*"layer":"a"/);
  assert.match(chain[1], /RegistryError: Cannot fetch blob: 503/);
  assert.equal(inner.retryable, true);
  assert.equal(inner.status, 503);
});

Deno.test("NotImplementedError exits 2 and errorLine() is the message alone", () => {
  const e = new NotImplementedError('"stacker gc"');
  assert.equal(e.exitCode, 2);
  assert.equal(errorLine(e), 'Cannot run "stacker gc": not implemented yet in stacker-ts');
  assert.equal(errorLine("plain"), "plain");
});
