import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";
import { compress, compressionOf, decompress, digester, gzipBlock } from "../../lib/layer/_compression.ts";
import { LayerError } from "../../lib/util/errors.ts";

async function bytesOf(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(s).arrayBuffer());
}

Deno.test("compressionOf() maps layer media types", () => {
  assert.equal(compressionOf("application/vnd.oci.image.layer.v1.tar+gzip"), "gzip");
  assert.equal(compressionOf("application/vnd.docker.image.rootfs.diff.tar.gzip"), "gzip");
  assert.equal(compressionOf("application/vnd.oci.image.layer.v1.tar+zstd"), "zstd");
  assert.equal(compressionOf("application/vnd.oci.image.layer.v1.tar"), "none");
  assert.equal(compressionOf("application/vnd.stacker.image.layer.squashfs+zstd"), undefined);
  assert.equal(compressionOf("application/json"), undefined);
});

Deno.test("decompress() reads every member of a multi-member gzip stream, as gzip -d does", async () => {
  const data = new TextEncoder().encode("member one\n".repeat(1000) + "member two\n".repeat(1000));
  const gz = new Uint8Array([...gzipSync(data.subarray(0, 7000)), ...gzipSync(data.subarray(7000))]);
  const ours = await bytesOf(decompress(ReadableStream.from([gz]), "gzip", {}));
  assert.deepEqual(ours, data);
  const cmd = new Deno.Command("gzip", { args: ["-dc"], stdin: "piped", stdout: "piped" }).spawn();
  const w = cmd.stdin.getWriter();
  await w.write(gz);
  await w.close();
  assert.deepEqual(new Uint8Array((await cmd.output()).stdout), data);
});

Deno.test("compress() then decompress() round-trips gzip and zstd and stays deterministic", async () => {
  const data = crypto.getRandomValues(new Uint8Array(60000));
  for (const c of ["gzip", "zstd"] as const) {
    const a = await bytesOf(compress(ReadableStream.from([data]), c));
    const b = await bytesOf(compress(ReadableStream.from([data]), c));
    assert.deepEqual(a, b);
    assert.deepEqual(await bytesOf(decompress(ReadableStream.from([a]), c, {})), data);
  }
});

Deno.test("digester() hashes, counts and enforces its byte budget", async () => {
  const data = new Uint8Array(1000).fill(1);
  const d = digester();
  await bytesOf(ReadableStream.from([data, data]).pipeThrough(d.stream));
  const r = await d.result;
  const two = new Uint8Array(2000).fill(1);
  assert.equal(r.digest, `sha256:${createHash("sha256").update(two).digest("hex")}`);
  assert.equal(r.size, 2000);
  const small = digester(1500);
  await assert.rejects(
    bytesOf(ReadableStream.from([data, data]).pipeThrough(small.stream)),
    (e: LayerError) => e.code === "layer.budget",
  );
  await assert.rejects(small.result, LayerError);
});

Deno.test("gzipBlock() stores incompressible blocks and compresses the rest", () => {
  const random = new Uint8Array(256 << 10);
  for (let i = 0; i < random.length; i += 65536) crypto.getRandomValues(random.subarray(i, i + 65536));
  const text = new TextEncoder().encode("compressible text ".repeat(15000));
  const r = gzipBlock(random, 6);
  const t = gzipBlock(text, 6);
  assert.ok(r.length > random.length && r.length < random.length + 200, `${r.length}`);
  assert.ok(t.length < text.length / 20);
  assert.deepEqual(new Uint8Array(gunzipSync(r)), random);
  assert.deepEqual(new Uint8Array(gunzipSync(t)), text);
});

Deno.test("compress() gives the same gzip bytes with and without worker threads", async () => {
  // 6 MiB: past the point where workers start; half random, half text
  const data = new Uint8Array(6 << 20);
  for (let i = 0; i < 3 << 20; i += 65536) crypto.getRandomValues(data.subarray(i, i + 65536));
  data.set(new TextEncoder().encode("text ".repeat(600000)), 3 << 20);
  const a = await bytesOf(compress(ReadableStream.from([data]), "gzip", { workers: 0 }));
  const b = await bytesOf(compress(ReadableStream.from([data.slice()]), "gzip", { workers: 2 }));
  assert.equal(sha(a), sha(b));
  assert.deepEqual(new Uint8Array(gunzipSync(b)), data);
});

function sha(b: Uint8Array): string {
  return createHash("sha256").update(b).digest("hex");
}
