import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  type GeneratedLayer,
  generateSquashfs,
  squashfsSupportsZstd,
  unpackLayer,
  VERITY_ROOT_HASH_ANNOTATION,
  veritySupported,
} from "../../lib/layer/mod.ts";
import { LayerError } from "../../lib/util/errors.ts";
import { lgetxattr, lsetxattr, mknod, S_IFCHR } from "../../lib/ffi/libc.ts";
import { snapshot, tempRoot } from "../_helpers/layer_root.ts";

async function collect(g: GeneratedLayer) {
  const bytes = new Uint8Array(await new Response(g.stream).arrayBuffer());
  return { bytes, meta: await g.done };
}

async function makeUpper(upper: string): Promise<void> {
  await Deno.mkdir(`${upper}/opq`, { recursive: true });
  await Deno.writeTextFile(`${upper}/opq/kept`, "k");
  lsetxattr(`${upper}/opq`, "user.overlay.opaque", new TextEncoder().encode("y"));
  mknod(`${upper}/gone`, S_IFCHR, 0, 0, 0);
  await Deno.writeTextFile(`${upper}/added`, "a");
  await Deno.chmod(`${upper}/added`, 0o4755);
}

Deno.test("generateSquashfs() keeps overlay whiteouts, is reproducible, and unpackLayer() applies it", async () => {
  await using r = await tempRoot();
  const upper = `${r.dir}/upper`;
  await makeUpper(upper);
  const a = await collect((await generateSquashfs(upper, { sourceDateEpoch: 1700000000 }))!);
  const b = await collect((await generateSquashfs(upper, { sourceDateEpoch: 1700000000 }))!);
  assert.equal(a.meta.digest, `sha256:${createHash("sha256").update(a.bytes).digest("hex")}`);
  assert.equal(a.meta.diffId, a.meta.digest);
  assert.equal(a.meta.size, a.bytes.length);
  assert.deepEqual(a.bytes, b.bytes);
  const zstd = await squashfsSupportsZstd();
  assert.equal(a.meta.mediaType, `application/vnd.stacker.image.layer.squashfs+${zstd ? "zstd" : "gzip"}`);
  // squashfs magic "hsqs"
  assert.deepEqual([...a.bytes.subarray(0, 4)], [0x68, 0x73, 0x71, 0x73]);

  // overlay mode keeps the whiteout device and the opaque xattr
  const over = `${r.dir}/over`;
  await unpackLayer(() => ReadableStream.from([a.bytes]), over, {
    mediaType: a.meta.mediaType,
    whiteouts: "overlay",
    diffId: a.meta.diffId,
  });
  const st = await Deno.lstat(`${over}/gone`);
  assert.equal(st.isCharDevice, true);
  assert.deepEqual(lgetxattr(`${over}/opq`, "user.overlay.opaque"), new TextEncoder().encode("y"));

  // apply mode deletes what the whiteouts name
  const lower = `${r.dir}/lower`;
  await Deno.mkdir(`${lower}/opq`, { recursive: true });
  await Deno.writeTextFile(`${lower}/opq/old`, "o");
  await Deno.writeTextFile(`${lower}/gone`, "g");
  await unpackLayer(() => ReadableStream.from([a.bytes]), lower, {
    mediaType: a.meta.mediaType,
    whiteouts: "apply",
  });
  const snap = await snapshot(lower);
  assert.deepEqual(Object.keys(snap), ["added", "opq", "opq/kept"]);
  assert.equal(snap["added"].mode, 0o4755);

  await assert.rejects(
    unpackLayer(() => ReadableStream.from([a.bytes]), `${r.dir}/x`, {
      mediaType: a.meta.mediaType,
      whiteouts: "apply",
      diffId: `sha256:${"0".repeat(64)}`,
    }),
    (e: LayerError) => e.code === "layer.diffid-mismatch",
  );
});

Deno.test("generateSquashfs() of an empty directory is undefined", async () => {
  await using r = await tempRoot();
  assert.equal(await generateSquashfs(r.rootfs), undefined);
});

Deno.test({
  name:
    "generateSquashfs() with verity appends hash data veritysetup verifies, reproducibly, and annotates the root hash",
  ignore: !(await veritySupported()),
  fn: async () => {
    await using r = await tempRoot();
    const upper = `${r.dir}/upper`;
    await makeUpper(upper);
    const plain = await collect((await generateSquashfs(upper, { sourceDateEpoch: 1700000000 }))!);
    const a = await collect((await generateSquashfs(upper, { sourceDateEpoch: 1700000000, verity: true }))!);
    const b = await collect((await generateSquashfs(upper, { sourceDateEpoch: 1700000000, verity: true }))!);
    assert.deepEqual(a.bytes, b.bytes, "same tree, same epoch: same blob, verity included");
    assert.equal(plain.meta.annotations, undefined);
    const root = a.meta.annotations?.[VERITY_ROOT_HASH_ANNOTATION];
    assert.match(root ?? "", /^[0-9a-f]{64}$/);
    // the squashfs image comes first, unchanged; the hash area follows it
    assert.ok(a.bytes.length > plain.bytes.length);
    assert.deepEqual(a.bytes.subarray(0, plain.bytes.length), plain.bytes);
    assert.equal(a.meta.digest, `sha256:${createHash("sha256").update(a.bytes).digest("hex")}`);
    assert.equal(a.meta.diffId, a.meta.digest);

    const file = `${r.dir}/layer`;
    await Deno.writeFile(file, a.bytes);
    const verify = (hash: string) =>
      new Deno.Command("veritysetup", {
        args: ["verify", `--hash-offset=${plain.bytes.length}`, file, file, hash],
        stdout: "null",
        stderr: "null",
      }).output();
    assert.equal((await verify(root!)).success, true, "veritysetup accepts the annotated root hash");
    assert.equal((await verify("0".repeat(64))).success, false, "and refuses another");

    // the blob still unpacks (unsquashfs ignores the data past the image)
    const over = `${r.dir}/over`;
    await unpackLayer(() => ReadableStream.from([a.bytes]), over, {
      mediaType: a.meta.mediaType,
      whiteouts: "overlay",
      diffId: a.meta.diffId,
    });
    assert.equal((await Deno.lstat(`${over}/gone`)).isCharDevice, true);
  },
});

Deno.test("generateSquashfs() with keepEmpty packs an empty directory", async () => {
  await using r = await tempRoot();
  const g = await collect((await generateSquashfs(r.rootfs, { keepEmpty: true }))!);
  assert.deepEqual([...g.bytes.subarray(0, 4)], [0x68, 0x73, 0x71, 0x73]);
  const out = `${r.dir}/out`;
  await unpackLayer(() => ReadableStream.from([g.bytes]), out, {
    mediaType: g.meta.mediaType,
    whiteouts: "apply",
  });
  assert.deepEqual(await Array.fromAsync(Deno.readDir(out)), []);
});

Deno.test("generateSquashfs() works when SOURCE_DATE_EPOCH is set in the environment (`SOURCE_DATE_EPOCH=… stacker build`)", async () => {
  await using r = await tempRoot();
  const upper = `${r.dir}/upper`;
  await makeUpper(upper);
  const plain = await collect((await generateSquashfs(upper, { sourceDateEpoch: 1700000000 }))!);
  const before = Deno.env.get("SOURCE_DATE_EPOCH");
  Deno.env.set("SOURCE_DATE_EPOCH", "1600000000");
  try {
    // mksquashfs refuses the variable together with -mkfs-time/-all-time; the options alone decide
    const withEnv = await collect((await generateSquashfs(upper, { sourceDateEpoch: 1700000000 }))!);
    assert.deepEqual(withEnv.bytes, plain.bytes);
  } finally {
    if (before === undefined) Deno.env.delete("SOURCE_DATE_EPOCH");
    else Deno.env.set("SOURCE_DATE_EPOCH", before);
  }
});
