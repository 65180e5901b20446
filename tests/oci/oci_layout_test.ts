import assert from "node:assert/strict";
import { join } from "node:path";
import { busyboxLayout, multiLayerLayout } from "../../scripts/fixtures/mod.ts";
import { MediaType, OciLayout, sha256Digest } from "../../lib/oci/mod.ts";
import type { Descriptor, Digest } from "../../lib/oci/mod.ts";
import { OciError } from "../../lib/util/errors.ts";

const enc = (s: string) => new TextEncoder().encode(s);

async function tempLayout(): Promise<{ dir: string; layout: OciLayout } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "stacker-ts-oci-" });
  const layout = await OciLayout.open(`${dir}/oci`, { create: true });
  return { dir: `${dir}/oci`, layout, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

async function text(s: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(s).text();
}

async function blobNames(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(`${dir}/blobs/sha256`)) out.push(e.name);
  return out.sort();
}

/** A minimal valid image (one layer, a config) stored in `layout`; returns its manifest descriptor. */
async function storeImage(layout: OciLayout, body: string): Promise<Descriptor> {
  const layer = await layout.putBlob(ReadableStream.from([enc(body)]));
  const config = await layout.putJson({
    architecture: "amd64",
    os: "linux",
    rootfs: { type: "layers", diff_ids: [layer.digest] },
  }, MediaType.ociConfig);
  return await layout.putJson({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config,
    layers: [{ mediaType: MediaType.ociLayer, ...layer }],
  }, MediaType.ociManifest);
}

Deno.test("OciLayout.open() creates a layout and refuses a missing or broken one", async () => {
  await using t = await tempLayout();
  assert.deepEqual(JSON.parse(await Deno.readTextFile(`${t.dir}/oci-layout`)), {
    imageLayoutVersion: "1.0.0",
  });
  assert.deepEqual(await t.layout.tags(), []);
  await OciLayout.open(t.dir, { create: true }); // idempotent
  await assert.rejects(
    OciLayout.open(`${t.dir}/nope`),
    (e: unknown) => e instanceof OciError && e.code === "oci.not-layout",
  );
  await Deno.writeTextFile(`${t.dir}/index.json`, "");
  await assert.rejects(
    OciLayout.open(t.dir),
    (e: unknown) => e instanceof OciError && e.code === "oci.bad-layout",
  );
});

Deno.test("putBlob() stores verified bytes and nothing on a mismatch", async (t) => {
  await using l = await tempLayout();
  const hello = sha256Digest("hello");
  await t.step("computes the digest while streaming", async () => {
    assert.deepEqual(await l.layout.putBlob(ReadableStream.from([enc("hel"), enc("lo")])), {
      digest: hello,
      size: 5,
    });
    assert.equal(await Deno.readTextFile(l.layout.blobPath(hello)), "hello");
  });
  await t.step("refuses bytes that do not match the expected digest", async () => {
    const want = sha256Digest("world");
    await assert.rejects(
      l.layout.putBlob(ReadableStream.from([enc("WORLD")]), { digest: want, size: 5 }),
      (e: unknown) => e instanceof OciError && e.code === "oci.digest-mismatch",
    );
    assert.equal(await l.layout.hasBlob(want), false);
    assert.deepEqual(await blobNames(l.dir), [hello.slice(7)]);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(`${l.dir}/.stacker-tmp`)), []);
  });
  await t.step("refuses a wrong size", async () => {
    const want = sha256Digest("abc");
    await assert.rejects(l.layout.putBlob(ReadableStream.from([enc("abc")]), { digest: want, size: 4 }));
    assert.equal(await l.layout.hasBlob(want), false);
  });
  await t.step("an existing blob is not rewritten and the stream is cancelled", async () => {
    let cancelled = false;
    const s = new ReadableStream<Uint8Array>({ cancel: () => void (cancelled = true) });
    assert.deepEqual(await l.layout.putBlob(s, { digest: hello, size: 5 }), { digest: hello, size: 5 });
    assert.equal(cancelled, true);
  });
});

Deno.test("openBlob() verifies what it reads, so a corrupted blob is refused", async () => {
  await using l = await tempLayout();
  const d = await l.layout.putBlob(ReadableStream.from([enc("hello")]));
  assert.equal(await text(await l.layout.openBlob(d)), "hello");
  await Deno.chmod(l.layout.blobPath(d.digest), 0o644);
  await Deno.writeTextFile(l.layout.blobPath(d.digest), "jello");
  await assert.rejects(
    text(await l.layout.openBlob(d)),
    (e: unknown) => e instanceof OciError && e.code === "oci.digest-mismatch",
  );
  await assert.rejects(
    l.layout.openBlob({ digest: sha256Digest("x"), size: 1 }),
    (e: unknown) => e instanceof OciError && e.code === "oci.missing-blob",
  );
  assert.throws(() => l.layout.blobPath("sha256:../../x" as Digest), OciError);
});

Deno.test("tag(), resolve(), untag() and imageOf() round-trip; readers see a valid layout", async () => {
  await using l = await tempLayout();
  const m = await storeImage(l.layout, "layer-one");
  await l.layout.tag("one", m);
  await l.layout.tag("with:colons:1", m);
  assert.deepEqual(await l.layout.resolve("one"), m);
  assert.equal(await l.layout.resolve("two"), undefined);
  assert.deepEqual((await l.layout.tags()).map((t) => t.name).sort(), ["one", "with:colons:1"]);
  const img = await l.layout.imageOf("one");
  assert.equal(img.config.os, "linux");
  assert.equal(img.manifest.layers[0].digest, sha256Digest("layer-one"));
  // umoci and skopeo read what we wrote
  const umoci = await new Deno.Command("umoci", { args: ["ls", "--layout", l.dir] }).output();
  assert.equal(umoci.code, 0, new TextDecoder().decode(umoci.stderr));
  assert.deepEqual(new TextDecoder().decode(umoci.stdout).trim().split("\n").sort(), [
    "one",
    "with:colons:1",
  ]);
  const sk = await new Deno.Command("skopeo", { args: ["inspect", "--raw", `oci:${l.dir}:one`] }).output();
  assert.equal(sk.code, 0, new TextDecoder().decode(sk.stderr));
  assert.equal(sha256Digest(sk.stdout), m.digest);
  // retagging replaces, untag removes
  const m2 = await storeImage(l.layout, "layer-two");
  await l.layout.tag("one", m2);
  assert.equal((await l.layout.resolve("one"))?.digest, m2.digest);
  assert.equal((await l.layout.tags()).length, 2);
  await l.layout.untag("one");
  await l.layout.untag("one");
  assert.deepEqual((await l.layout.tags()).map((t) => t.name), ["with:colons:1"]);
  await assert.rejects(
    l.layout.imageOf("one"),
    (e: unknown) => e instanceof OciError && e.code === "oci.no-tag",
  );
  await assert.rejects(
    l.layout.tag("x", { mediaType: MediaType.ociManifest, digest: sha256Digest("absent"), size: 6 }),
    (e: unknown) => e instanceof OciError && e.code === "oci.missing-blob",
  );
});

Deno.test("readManifest() resolves an index to the platform and lists the offered ones", async () => {
  await using l = await tempLayout();
  const amd = await storeImage(l.layout, "amd");
  const arm = await storeImage(l.layout, "arm");
  const idx = await l.layout.putJson({
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [
      { ...amd, platform: { os: "linux", architecture: "amd64" } },
      { ...arm, platform: { os: "linux", architecture: "arm64", variant: "v8" } },
    ],
  }, MediaType.ociIndex);
  await l.layout.tag("multi", idx);
  assert.equal(
    (await l.layout.imageOf("multi", { os: "linux", arch: "arm64" })).manifestDescriptor.digest,
    arm.digest,
  );
  assert.equal(
    (await l.layout.imageOf("multi", { os: "linux", arch: "x86_64" })).manifestDescriptor.digest,
    amd.digest,
  );
  await assert.rejects(
    l.layout.imageOf("multi", { os: "linux", arch: "s390x" }),
    (e: unknown) =>
      e instanceof OciError && e.code === "oci.no-platform" &&
      e.message.includes("linux/amd64, linux/arm64/v8"),
  );
  // gc keeps everything reachable through the index
  assert.deepEqual(await l.layout.gc(), { removed: 0, bytes: 0 });
});

Deno.test("gc() removes exactly the blobs nothing references", async () => {
  await using l = await tempLayout();
  const kept = await storeImage(l.layout, "kept");
  const extra = await storeImage(l.layout, "extra");
  const dropped = await storeImage(l.layout, "dropped");
  await l.layout.tag("kept", kept);
  const before = (await blobNames(l.dir)).length;
  assert.equal(before, 9);
  const r = await l.layout.gc([extra]);
  assert.equal(r.removed, 3);
  assert.equal(await l.layout.hasBlob(dropped.digest), false);
  assert.equal(await l.layout.hasBlob(sha256Digest("dropped")), false);
  assert.equal(await l.layout.hasBlob(sha256Digest("extra")), true);
  assert.equal((await l.layout.imageOf("kept")).manifest.layers.length, 1);
});

Deno.test("OciLayout reads the fixture layouts (docker and oci media types)", async () => {
  for (const f of [await busyboxLayout(), await multiLayerLayout()]) {
    const layout = await OciLayout.open(f.dir);
    const img = await layout.imageOf(f.tag);
    assert.equal(img.manifest.layers.length, img.config.rootfs.diff_ids.length);
    for (const d of img.manifest.layers) assert.equal(await layout.hasBlob(d.digest), true);
  }
});

function worker(dir: string, prefix: string, count: number): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_tag_worker.ts", import.meta.url).pathname, dir, prefix, String(count)],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

Deno.test("16 processes tagging one layout at once keep all 16 tags", async () => {
  await using l = await tempLayout();
  const m = await storeImage(l.layout, "shared");
  await Deno.writeTextFile(join(l.dir, "desc.json"), JSON.stringify(m));
  const children = await Promise.all(Array.from({ length: 16 }, (_, i) => worker(l.dir, `w${i}`, 1)));
  for (const c of children) {
    const out = await c.output(); // drains stdout too
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  }
  const names = (await l.layout.tags()).map((t) => t.name).sort();
  assert.deepEqual(names, Array.from({ length: 16 }, (_, i) => `w${i}-0`).sort());
});

Deno.test("kill -9 during tag updates leaves a valid index.json that keeps earlier tags", async () => {
  await using l = await tempLayout();
  const m = await storeImage(l.layout, "k");
  await l.layout.tag("precious", m);
  await Deno.writeTextFile(join(l.dir, "desc.json"), JSON.stringify(m));
  for (let round = 0; round < 5; round++) {
    const c = await worker(l.dir, `r${round}`, 0);
    // once it has tagged (however slow its start), kill it at some moment among its updates
    const reader = c.stdout.getReader();
    assert.equal(new TextDecoder().decode((await reader.read()).value).trim(), "tagged");
    await new Promise((r) => setTimeout(r, 20 + round * 37));
    c.kill("SIGKILL");
    await c.status;
    reader.releaseLock();
    await c.stdout.cancel();
    await c.stderr.cancel();
    const layout = await OciLayout.open(l.dir); // throws on a torn index.json
    assert.equal((await layout.resolve("precious"))?.digest, m.digest);
  }
  // the workers did get to tag (the kills landed among real updates)
  assert.ok((await l.layout.tags()).some((t) => t.name.startsWith("r")));
  // the lock was released by each kill
  await l.layout.tag("after", m);
});
