import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { gzipBlock } from "../../lib/layer/_compression.ts";

Deno.test("the gzip worker answers each job with gzipBlock()'s bytes, tagged with the job id", async () => {
  const w = new Worker(new URL("../../lib/layer/_gzip_worker.ts", import.meta.url), { type: "module" });
  try {
    const data = new TextEncoder().encode("block ".repeat(50000));
    const reply = new Promise<{ id: number; out: Uint8Array }>((
      resolve,
    ) => (w.onmessage = (e) => resolve(e.data)));
    w.postMessage({ id: 7, level: 6, data: data.slice() });
    const { id, out } = await reply;
    assert.equal(id, 7);
    assert.deepEqual(out, gzipBlock(data, 6));
    assert.deepEqual(new Uint8Array(gunzipSync(out)), data);
  } finally {
    w.terminate();
  }
});
