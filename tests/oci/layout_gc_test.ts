import assert from "node:assert/strict";
import { MediaType, OciLayout } from "../../lib/oci/mod.ts";
import type { Descriptor } from "../../lib/oci/mod.ts";
import { isOrphanTemp, tempBlobName } from "../../lib/oci/layout_gc.ts";
import { OciError } from "../../lib/util/errors.ts";

const enc = (s: string) => new TextEncoder().encode(s);

async function tempLayout(): Promise<{ dir: string; layout: OciLayout } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "stacker-ts-gc-" });
  const layout = await OciLayout.open(`${dir}/oci`, { create: true });
  return { dir, layout, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

async function storeImage(layout: OciLayout, body: string): Promise<Descriptor> {
  const layer = await layout.putBlob(ReadableStream.from([enc(body)]));
  const config = await layout.putJson(
    { rootfs: { type: "layers", diff_ids: [layer.digest] } },
    MediaType.ociConfig,
  );
  return await layout.putJson(
    {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config,
      layers: [{ mediaType: MediaType.ociLayer, ...layer }],
    },
    MediaType.ociManifest,
  );
}

Deno.test("gc() never removes what a holder stored and has not tagged yet; it runs once the holder is gone", async () => {
  await using t = await tempLayout();
  const writer = await OciLayout.open(`${t.dir}/oci`); // another user of the layout (as another process would)
  const held = await writer.hold();
  const untagged = await storeImage(writer, "in flight");
  const r = await t.layout.gc([], { wait: false });
  assert.match(r.skipped ?? "", new RegExp(`pid ${Deno.pid}`));
  assert.equal(r.removed, 0);
  assert.equal(await t.layout.hasBlob(untagged.digest), true);
  // a waiting gc runs as soon as the writer lets go
  const waiting = t.layout.gc([], { onWait: () => held.release() });
  const done = await waiting;
  assert.equal(done.skipped, undefined);
  assert.equal(done.removed, 3);
  assert.equal(await t.layout.hasBlob(untagged.digest), false);
});

Deno.test("gc() refuses to run while its own instance holds the layout (it would wait for itself)", async () => {
  await using t = await tempLayout();
  await using _held = await t.layout.hold();
  await assert.rejects(t.layout.gc(), (e: unknown) => e instanceof OciError && e.code === "oci.busy");
});

Deno.test("gc() keeps registered roots while their file exists, and drops the set when it is gone", async () => {
  await using t = await tempLayout();
  const m = await storeImage(t.layout, "build_only of another stacker dir");
  await Deno.writeTextFile(`${t.dir}/build.cache`, "{}");
  await t.layout.setRoots(`${t.dir}/stacker`, `${t.dir}/build.cache`, [m]);
  assert.equal((await t.layout.gc()).removed, 0);
  assert.equal(await t.layout.hasBlob(m.digest), true);
  await t.layout.setRoots(`${t.dir}/stacker`, `${t.dir}/build.cache`, []); // replaced, not added
  assert.equal((await t.layout.gc()).removed, 3);
  const again = await storeImage(t.layout, "second");
  await t.layout.setRoots(`${t.dir}/stacker`, `${t.dir}/build.cache`, [again]);
  await Deno.remove(`${t.dir}/build.cache`);
  assert.equal((await t.layout.gc()).removed, 3);
  assert.deepEqual(await Array.fromAsync(Deno.readDir(`${t.dir}/oci/.stacker-roots`)), []);
});

Deno.test("gc() removes temp files of dead writers only", async () => {
  await using t = await tempLayout();
  const tmp = `${t.dir}/oci/.stacker-tmp`;
  await Deno.mkdir(tmp, { recursive: true });
  const dead = new Deno.Command("true").spawn();
  await dead.status;
  const mine = tempBlobName();
  const orphan = mine.replace(`blob-${Deno.pid}-`, `blob-${dead.pid}-`);
  const old = `blob-${dead.pid}-${crypto.randomUUID()}`; // the name earlier versions used
  for (const n of [mine, orphan, old]) await Deno.writeTextFile(`${tmp}/${n}`, "partial");
  await Deno.writeTextFile(`${t.dir}/oci/index.json.tmp-${dead.pid}-0a1b2c3d`, "{");
  await t.layout.gc();
  assert.deepEqual((await Array.fromAsync(Deno.readDir(tmp))).map((e) => e.name), [mine]);
  await assert.rejects(Deno.stat(`${t.dir}/oci/index.json.tmp-${dead.pid}-0a1b2c3d`), Deno.errors.NotFound);
});

Deno.test("isOrphanTemp() tells a live owner from a dead one and from a reused pid", () => {
  const mine = tempBlobName();
  assert.equal(isOrphanTemp(mine), false);
  // same pid, another start time: the pid was reused, the owner is gone
  assert.equal(isOrphanTemp(mine.replace(/^blob-(\d+)-(\d+)-/, "blob-$1-1-")), true);
  assert.equal(isOrphanTemp(`index.json.tmp-${Deno.pid}-0a1b2c3d`), false);
  assert.equal(isOrphanTemp("something-else"), true);
});
