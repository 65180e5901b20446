import assert from "node:assert/strict";
import { FILE_CHUNK_BYTES, fileChunks, openFileChunks } from "../../lib/util/file_stream.ts";

async function openFds(): Promise<number> {
  let n = 0;
  for await (const _ of Deno.readDir("/proc/self/fd")) n++;
  return n;
}

Deno.test("fileChunks() streams every byte in bounded, independent chunks and closes the file", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const size of [0, 1, 4095, 4096, 4097, FILE_CHUNK_BYTES, FILE_CHUNK_BYTES + 3, 3 * FILE_CHUNK_BYTES]
    ) {
      await t.step(`${size} bytes`, async () => {
        const data = new Uint8Array(size);
        for (let off = 0; off < size; off += 65536) crypto.getRandomValues(data.subarray(off, off + 65536));
        await Deno.writeFile(`${dir}/f`, data);
        const before = await openFds();
        for (const hint of [undefined, size]) {
          const kept: Uint8Array[] = [];
          for await (const c of await openFileChunks(`${dir}/f`, hint)) {
            assert.ok(c.byteLength > 0 && c.byteLength <= FILE_CHUNK_BYTES);
            kept.push(c);
          }
          // chunks are fresh buffers: holding them all reassembles the file exactly
          assert.deepEqual(new Uint8Array(await new Blob(kept as BlobPart[]).arrayBuffer()), data);
        }
        assert.equal(await openFds(), before);
      });
    }
    await t.step("cancel closes the file", async () => {
      await Deno.writeFile(`${dir}/g`, new Uint8Array(3 * FILE_CHUNK_BYTES));
      const before = await openFds();
      const reader = fileChunks(await Deno.open(`${dir}/g`)).getReader();
      await reader.read();
      assert.equal(await openFds(), before + 1);
      await reader.cancel();
      assert.equal(await openFds(), before);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
