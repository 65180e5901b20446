import assert from "node:assert/strict";
import { mustRedact, pumpRedacted } from "../../lib/runtime/_redacted_output.ts";
import { clearSecrets, registerSecret } from "../../lib/util/secrets.ts";

Deno.test("pumpRedacted() hides a secret even when a chunk splits it", async () => {
  clearSecrets();
  try {
    assert.equal(mustRedact(undefined, false), false, "no secret: output is inherited");
    registerSecret("s3cr3t-value", "${{S}}");
    assert.equal(mustRedact(undefined, false), true);
    assert.equal(mustRedact("piped", false), false);
    assert.equal(mustRedact("inherit", true), false, "an interactive run keeps its terminal");
    const enc = new TextEncoder();
    const chunks = ["+ echo s3cr", "3t-value\nnext line s3cr3t-value", " end"];
    const out: Uint8Array[] = [];
    await pumpRedacted(ReadableStream.from(chunks.map((c) => enc.encode(c))), {
      writeSync: (p) => (out.push(p.slice()), p.length),
    });
    const text = new TextDecoder().decode(new Uint8Array(out.flatMap((b) => [...b])));
    assert.equal(text, "+ echo ${{S}}\nnext line ${{S}} end");
  } finally {
    clearSecrets();
  }
});
