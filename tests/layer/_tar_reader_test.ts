import assert from "node:assert/strict";
import { ByteSource, TarReader } from "../../lib/layer/_tar_reader.ts";
import { LayerError } from "../../lib/util/errors.ts";
import { tarOf } from "../_helpers/layer_tar.ts";
import { tempRoot } from "../_helpers/layer_root.ts";

function chunked(b: Uint8Array, size: number): ReadableStream<Uint8Array> {
  const parts: Uint8Array[] = [];
  for (let i = 0; i < b.length; i += size) parts.push(b.slice(i, i + size));
  return ReadableStream.from(parts);
}

Deno.test("TarReader reads entries across any chunking", async (t) => {
  const bytes = tarOf([
    { path: "a", body: "x".repeat(1500) },
    { path: "b/", type: "dir" },
    { path: "c", type: "symlink", target: "a" },
    { path: "d", pax: { path: "p".repeat(300), mtime: "1700000000.5", uid: "4000000" }, body: "pax" },
    { path: "e", gnuLongName: "g".repeat(200), body: "gnu" },
  ]);
  for (const size of [1, 7, 512, 100000]) {
    await t.step(`chunks of ${size}`, async () => {
      const r = new TarReader(chunked(bytes, size));
      const names: string[] = [];
      for (let e; (e = await r.next());) {
        names.push(e.name);
        if (e.name.startsWith("p")) {
          assert.equal(e.mtime, 1700000000.5);
          assert.equal(e.uid, 4000000);
          assert.equal(new TextDecoder().decode(await r.readBody()), "pax");
        }
      }
      assert.deepEqual(names, ["a", "b/", "c", "p".repeat(300), "g".repeat(200)]);
    });
  }
});

Deno.test("TarReader refuses truncated archives and oversized meta records", async () => {
  const bytes = tarOf([{ path: "a", body: "x".repeat(1500) }], false);
  const r = new TarReader(ReadableStream.from([bytes.subarray(0, 1000)]));
  await r.next();
  await assert.rejects(r.skipBody(), (e: LayerError) => e.code === "layer.truncated");
  const big = tarOf([{ path: "a", pax: { comment: "c".repeat(5000) } }]);
  await assert.rejects(
    new TarReader(ReadableStream.from([big]), { maxMetaSize: 1024 }).next(),
    (e: LayerError) => e.code === "layer.budget",
  );
});

Deno.test("TarReader refuses GNU sparse files written by GNU tar", async () => {
  await using t = await tempRoot();
  const f = await Deno.open(`${t.dir}/sparse`, { create: true, write: true });
  await f.truncate(1 << 20);
  await f.seek(4096, Deno.SeekMode.Start);
  await f.write(new Uint8Array([1]));
  f.close();
  for (const format of ["gnu", "pax"]) {
    await new Deno.Command("tar", {
      args: [`--format=${format}`, "-S", "-C", t.dir, "-cf", `${t.dir}/s.tar`, "sparse"],
    })
      .output();
    const r = new TarReader((await Deno.open(`${t.dir}/s.tar`)).readable);
    await assert.rejects(r.next(), (e: LayerError) => e.code === "layer.sparse", format);
    await r.cancel();
  }
});

Deno.test("ByteSource.read() returns null only at a clean EOF", async () => {
  const s = new ByteSource(ReadableStream.from([new Uint8Array([1, 2]), new Uint8Array([3])]));
  assert.deepEqual(await s.read(3), new Uint8Array([1, 2, 3]));
  assert.equal(await s.read(1), null);
});
