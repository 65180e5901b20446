import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { gunzipSync } from "node:zlib";
import { generateLayer, type GenerateOptions, unpackImage, unpackLayer } from "../../lib/layer/mod.ts";
import type { GeneratedLayer } from "../../lib/layer/mod.ts";
import { lsetxattr, mknod, S_IFCHR } from "../../lib/ffi/libc.ts";
import { busyboxLayout, debianLayout, multiLayerLayout, testUserIds } from "../../scripts/fixtures/mod.ts";
import { TarReader } from "../../lib/layer/_tar_reader.ts";
import { diffSnapshots, layerAsTestUser, snapshot, tempRoot } from "../_helpers/layer_root.ts";
import { layoutLayers } from "../_helpers/layer_oci.ts";

async function collect(
  g: GeneratedLayer,
): Promise<{ bytes: Uint8Array; meta: Awaited<GeneratedLayer["done"]> }> {
  const bytes = new Uint8Array(await new Response(g.stream).arrayBuffer());
  return { bytes, meta: await g.done };
}

async function sh(...args: string[]): Promise<string> {
  const o = await new Deno.Command(args[0], { args: args.slice(1), stdout: "piped", stderr: "piped" })
    .output();
  const err = new TextDecoder().decode(o.stderr);
  assert.equal(o.code, 0, `${args.join(" ")}: ${err}`);
  return new TextDecoder().decode(o.stdout);
}

function sha256(b: Uint8Array): string {
  return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}

/** A copy of `layout` whose image `tag` gets one more layer (the given blob), tagged `newTag`. */
async function appendLayer(
  layout: string,
  tag: string,
  dest: string,
  blob: Uint8Array,
  meta: { diffId: string; digest: string; size: number; mediaType: string },
  newTag: string,
): Promise<void> {
  await sh("cp", "-a", layout, dest);
  const put = async (b: Uint8Array) => {
    const d = sha256(b);
    await Deno.writeFile(`${dest}/blobs/sha256/${d.slice(7)}`, b);
    return { digest: d, size: b.length };
  };
  await put(blob);
  const index = JSON.parse(await Deno.readTextFile(`${dest}/index.json`));
  const desc = index.manifests.find((m: { annotations: Record<string, string> }) =>
    m.annotations["org.opencontainers.image.ref.name"] === tag
  );
  const manifest = JSON.parse(await Deno.readTextFile(`${dest}/blobs/sha256/${desc.digest.slice(7)}`));
  const config = JSON.parse(
    await Deno.readTextFile(`${dest}/blobs/sha256/${manifest.config.digest.slice(7)}`),
  );
  config.rootfs.diff_ids.push(meta.diffId);
  const cfg = await put(new TextEncoder().encode(JSON.stringify(config)));
  manifest.config = { ...manifest.config, ...cfg };
  manifest.layers.push({ mediaType: meta.mediaType, digest: meta.digest, size: meta.size });
  const man = await put(new TextEncoder().encode(JSON.stringify(manifest)));
  index.manifests.push({
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    ...man,
    annotations: { "org.opencontainers.image.ref.name": newTag },
  });
  await Deno.writeTextFile(`${dest}/index.json`, JSON.stringify(index));
}

/** Changes made to a rootfs in the tests: new, changed, deleted, retyped, hardlinked, chmod/chown. */
async function mutate(root: string): Promise<void> {
  await Deno.mkdir(`${root}/new/deep`, { recursive: true });
  for (let i = 0; i < 50; i++) await Deno.writeTextFile(`${root}/new/deep/f${i}`, `file ${i}\n`);
  await Deno.writeFile(`${root}/new/big`, new Uint8Array(3 << 20).fill(7));
  await Deno.link(`${root}/new/deep/f1`, `${root}/new/hard1`);
  await Deno.symlink("../etc/passwd", `${root}/new/link`);
  await Deno.writeTextFile(`${root}/etc/passwd`, "root:x:0:0:changed:/root:/bin/sh\n", { append: true });
  await Deno.remove(`${root}/tmp`, { recursive: true });
  await Deno.writeTextFile(`${root}/tmp`, "tmp is a file now");
  await Deno.writeTextFile(`${root}/etc/group`, "staff:x:42:\n", { append: true });
  await Deno.chown(`${root}/etc/group`, 0, 42);
  await Deno.chmod(`${root}/etc/group`, 0o600);
  await Deno.writeTextFile(`${root}/suid`, "s");
  await Deno.chmod(`${root}/suid`, 0o4755);
  const long = `${root}/${"l".repeat(120)}/${"ü".repeat(80)}`;
  await Deno.mkdir(long, { recursive: true });
  await Deno.writeTextFile(`${long}/x`, "long");
  await Deno.writeTextFile(`${root}/xattr`, "x");
  lsetxattr(`${root}/xattr`, "user.bin", new Uint8Array([0, 0xff, 10]));
  await Deno.writeTextFile(`${root}/bigid`, "x");
  await Deno.chown(`${root}/bigid`, 3000000, 3000000);
}

Deno.test("generateLayer() of two trees reproduces the rootfs when applied to the base (umoci and skopeo read it)", async (t) => {
  for (const [name, make] of [["busybox", busyboxLayout], ["multi-layer", multiLayerLayout]] as const) {
    await t.step(name, async () => {
      const { dir, tag } = await make();
      await using r = await tempRoot();
      const base = `${r.dir}/base`, rootfs = `${r.dir}/changed`;
      await unpackImage(await layoutLayers(dir, tag), base, { whiteouts: "apply" });
      await sh("cp", "-a", base, rootfs);
      await mutate(rootfs);
      const g = await generateLayer({ kind: "trees", base, rootfs }, { sourceDateEpoch: 1700000000 });
      assert.ok(g);
      const { bytes, meta } = await collect(g);
      assert.equal(meta.digest, sha256(bytes));
      assert.equal(meta.size, bytes.length);
      assert.equal(meta.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
      // our gzip output has several members: DecompressionStream would stop after the first
      const tarBytes = new Uint8Array(gunzipSync(bytes));
      assert.equal(meta.diffId, sha256(tarBytes));
      // GNU tar reads it, and every parent comes before its children
      await Deno.writeFile(`${r.dir}/layer.tgz`, bytes);
      const listing = (await sh("tar", "-tzf", `${r.dir}/layer.tgz`)).trim().split("\n");
      const seen = new Set<string>();
      for (const n of listing) {
        const parent = n.replace(/\/$/, "").split("/").slice(0, -1).join("/");
        assert.ok(
          parent === "" || seen.has(parent) || !listing.includes(`${parent}/`),
          `${n} before ${parent}`,
        );
        seen.add(n.replace(/\/$/, ""));
      }
      assert.ok(
        listing.includes(".wh.tmp") === false && listing.includes("tmp"),
        "retyped dir became a file",
      );

      // ours: apply to a copy of the base
      const applied = `${r.dir}/applied`;
      await sh("cp", "-a", base, applied);
      await unpackLayer(() => ReadableStream.from([bytes]), applied, {
        mediaType: meta.mediaType,
        whiteouts: "apply",
        diffId: meta.diffId,
      });
      const want = await snapshot(rootfs);
      assert.deepEqual(diffSnapshots(await snapshot(applied), want), []);

      // umoci: unpack the image with our layer appended
      const layout2 = `${r.dir}/layout`;
      await appendLayer(dir, tag, layout2, bytes, meta, "changed");
      await sh("umoci", "unpack", "--image", `${layout2}:changed`, `${r.dir}/bundle`);
      assert.deepEqual(diffSnapshots(await snapshot(`${r.dir}/bundle/rootfs`), want), []);
      // skopeo: copies (and so verifies digests and sizes of) every blob
      await sh("skopeo", "copy", `oci:${layout2}:changed`, `oci:${r.dir}/copy:changed`);
    });
  }
});

Deno.test("generateLayer() is byte-identical for the same inputs with SOURCE_DATE_EPOCH, and undefined when nothing changed", async (t) => {
  const { dir, tag } = await busyboxLayout();
  await using r = await tempRoot();
  const base = `${r.dir}/base`, rootfs = `${r.dir}/changed`;
  await unpackImage(await layoutLayers(dir, tag), base, { whiteouts: "apply" });
  await sh("cp", "-a", base, rootfs);
  await t.step("unchanged, even when files were touched", async () => {
    await sh("touch", `${rootfs}/etc/passwd`);
    assert.equal(await generateLayer({ kind: "trees", base, rootfs }), undefined);
  });
  await mutate(rootfs);
  for (const compression of ["gzip", "zstd", "none"] as const) {
    await t.step(compression, async () => {
      const opts: GenerateOptions = { compression, sourceDateEpoch: 1600000000 };
      const a = await collect((await generateLayer({ kind: "trees", base, rootfs }, opts))!);
      // a second copy with other mtimes: clamping makes them irrelevant
      await sh("touch", `${rootfs}/new/deep/f3`);
      const b = await collect((await generateLayer({ kind: "trees", base, rootfs }, opts))!);
      assert.equal(a.meta.digest, b.meta.digest);
      assert.deepEqual(a.bytes, b.bytes);
      if (compression === "none") assert.equal(a.meta.digest, a.meta.diffId);
    });
  }
});

Deno.test("generateLayer() of an overlay upper dir turns whiteout devices and opaque dirs into OCI whiteouts", async () => {
  await using r = await tempRoot();
  const upper = `${r.dir}/upper`;
  await Deno.mkdir(`${upper}/opq`, { recursive: true });
  await Deno.writeTextFile(`${upper}/opq/kept`, "k");
  lsetxattr(`${upper}/opq`, "user.overlay.opaque", new TextEncoder().encode("y"));
  mknod(`${upper}/gone`, S_IFCHR, 0, 0, 0);
  await Deno.writeTextFile(`${upper}/added`, "a");
  const { bytes } = await collect(
    (await generateLayer({ kind: "overlay-upper", upper }, { compression: "none" }))!,
  );
  await Deno.writeFile(`${r.dir}/l.tar`, bytes);
  const names = (await sh("tar", "-tf", `${r.dir}/l.tar`)).trim().split("\n");
  assert.deepEqual(names, ["added", ".wh.gone", "opq/", "opq/.wh..wh..opq", "opq/kept"]);

  // applied over a lower tree
  const lower = `${r.dir}/lower`;
  await Deno.mkdir(`${lower}/opq`, { recursive: true });
  await Deno.writeTextFile(`${lower}/opq/old`, "o");
  await Deno.writeTextFile(`${lower}/gone`, "g");
  await unpackLayer(() => ReadableStream.from([bytes]), lower, {
    mediaType: "application/vnd.oci.image.layer.v1.tar",
    whiteouts: "apply",
  });
  assert.deepEqual(Object.keys(await snapshot(lower)), ["added", "opq", "opq/kept"]);

  const empty = `${r.dir}/empty`;
  await Deno.mkdir(empty);
  assert.equal(await generateLayer({ kind: "overlay-upper", upper: empty }), undefined);
});

Deno.test("generateLayer() repacks a Debian rootfs after a change", async () => {
  const { dir, tag } = await debianLayout();
  await using r = await tempRoot();
  const base = `${r.dir}/base`, rootfs = `${r.dir}/changed`;
  await unpackImage(await layoutLayers(dir, tag), base, { whiteouts: "apply" });
  await sh("cp", "-a", base, rootfs);
  await mutate(rootfs);
  await Deno.remove(`${rootfs}/usr/share/doc`, { recursive: true });
  const { bytes, meta } = await collect((await generateLayer({ kind: "trees", base, rootfs }))!);
  await sh("cp", "-a", base, `${r.dir}/applied`);
  await unpackLayer(() => ReadableStream.from([bytes]), `${r.dir}/applied`, {
    mediaType: meta.mediaType,
    whiteouts: "apply",
    diffId: meta.diffId,
  });
  assert.deepEqual(diffSnapshots(await snapshot(`${r.dir}/applied`), await snapshot(rootfs)), []);
});

async function tarEntries(path: string) {
  const r = new TarReader((await Deno.open(path)).readable);
  const out: Record<string, unknown> = {};
  for (let e; (e = await r.next());) {
    out[e.name] = {
      type: e.type,
      uid: e.uid,
      gid: e.gid,
      mode: e.mode,
      size: e.size,
      link: e.linkname,
      x: [...e.xattrs.keys()],
    };
  }
  return out;
}

Deno.test("generateLayer() as the test user restores the owners a rootless unpack recorded", async () => {
  const ids = await testUserIds();
  const { dir, tag } = await multiLayerLayout();
  await using r = await tempRoot(ids);
  const layers = await layoutLayers(dir, tag);
  const asUser = async (req: unknown) => {
    const { out, log } = await layerAsTestUser(req);
    assert.equal(out.ok, true, log);
  };
  await asUser({ rootfs: `${r.rootfs}/user`, layers });
  await Deno.mkdir(`${r.rootfs}/empty`);
  await asUser({
    generate: { base: `${r.rootfs}/empty`, rootfs: `${r.rootfs}/user`, out: `${r.rootfs}/user.tar` },
  });
  // the same as root, from a privileged unpack
  await unpackImage(layers, `${r.dir}/root`, { whiteouts: "apply" });
  const g = await generateLayer({ kind: "trees", base: `${r.rootfs}/empty`, rootfs: `${r.dir}/root` }, {
    compression: "none",
  });
  await g!.stream.pipeTo((await Deno.open(`${r.dir}/root.tar`, { create: true, write: true })).writable);
  const user = await tarEntries(`${r.rootfs}/user.tar`);
  const root = await tarEntries(`${r.dir}/root.tar`);
  assert.deepEqual((user["srv/www/index.html"] as { uid: number }).uid, 33);
  assert.deepEqual(user, root);
});
