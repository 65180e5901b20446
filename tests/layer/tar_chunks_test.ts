import assert from "node:assert/strict";
import { tarChunks } from "../../lib/layer/tar_chunks.ts";
import type { Change } from "../../lib/layer/tree_walker.ts";
import { TarReader } from "../../lib/layer/_tar_reader.ts";
import { LayerError } from "../../lib/util/errors.ts";
import { tempRoot } from "../_helpers/layer_root.ts";

async function* from(changes: Change[]): AsyncGenerator<Change> {
  yield* changes;
}

async function entries(changes: Change[], epoch?: number) {
  const r = new TarReader(ReadableStream.from(tarChunks(from(changes), epoch)));
  const out = [];
  for (let e; (e = await r.next()) !== null;) {
    out.push({ ...e, body: new TextDecoder().decode(await r.readBody()) });
  }
  return out;
}

Deno.test("tarChunks() encodes files, hardlinks and whiteouts; mtimes clamped to the epoch", async () => {
  await using t = await tempRoot();
  const f = `${t.rootfs}/f`;
  await Deno.writeTextFile(f, "hello");
  await Deno.utime(f, 2_000_000_000, 2_000_000_000);
  const st = await Deno.lstat(f);
  const got = await entries([
    { name: "f", host: f, st, uid: 5, gid: 6, xattrs: new Map() },
    { name: "g", host: f, st, hardlinkTo: "f", xattrs: new Map() },
    { name: ".wh.old" },
  ], 1_700_000_000);
  assert.deepEqual(
    got.map((e) => [e.name, e.type, e.uid, e.gid, e.mtime, e.linkname, e.body]),
    [
      ["f", "file", 5, 6, 1_700_000_000, "", "hello"],
      ["g", "hardlink", st.uid, st.gid, 1_700_000_000, "f", ""],
      [".wh.old", "file", 0, 0, 0, "", ""],
    ],
  );
});

Deno.test("tarChunks() fails when a file changed size while it was read", async () => {
  await using t = await tempRoot();
  const f = `${t.rootfs}/f`;
  await Deno.writeTextFile(f, "short");
  const st = await Deno.lstat(f);
  await Deno.writeTextFile(f, "much longer now");
  await assert.rejects(
    entries([{ name: "f", host: f, st, xattrs: new Map() }]),
    (e: LayerError) => e.code === "layer.changed-while-reading",
  );
});
