/**
 * writeLayerImages() and retag() with the real services: one image per layer type, each chained on
 * the start image of its own type, the added layers converted for squashfs; build_only layers are
 * written but untagged. Root only (real storage; conversion writes overlay whiteouts).
 */
import assert from "node:assert/strict";
import type { Descriptor, ImageConfig, Manifest } from "../../lib/oci/types.ts";
import { retag, writeLayerImages } from "../../lib/builder/layer_images.ts";
import { generateOverlayLayers } from "../../lib/builder/layer_rootfs.ts";
import type { AddedLayer, StartImage } from "../../lib/builder/layer_context.ts";
import type { LayerType } from "../../lib/builder/layer_types.ts";
import type { LayerDefinition } from "../../lib/builder/types.ts";
import { plannedOf, type TempLayerContext, tempLayerContext } from "./_helpers/layer_context.ts";

const isRoot = Deno.uid() === 0;

/** One added layer holding `name` with `body`. */
async function addedLayer(lc: TempLayerContext, name: string, body: string): Promise<AddedLayer[]> {
  const dir = await Deno.makeTempDir({ dir: lc.dir });
  await Deno.writeTextFile(`${dir}/${name}`, body);
  const added = await generateOverlayLayers(lc.ctx, {
    layer: name,
    overlayDirs: [{ source: dir, dest: "/" }],
  });
  assert.equal(added.length, 1);
  return added;
}

async function imageOf(
  lc: TempLayerContext,
  desc: Descriptor,
): Promise<{ manifest: Manifest; config: ImageConfig }> {
  const manifest = await lc.svc.output.readJson<Manifest>(desc);
  return { manifest, config: await lc.svc.output.readJson<ImageConfig>(manifest.config) };
}

Deno.test({
  name: "writeLayerImages() writes and tags a tar image whose config and history name the added layers",
  ignore: !isRoot,
  fn: async () => {
    await using lc = await tempLayerContext();
    const added = await addedLayer(lc, "hello", "hi\n");
    const def: LayerDefinition = { name: "app", from: { type: "scratch" }, labels: { a: "b" } };
    const manifests = await writeLayerImages(lc.ctx, {
      planned: plannedOf(def, lc.src),
      starts: new Map(),
      added,
      generatedLabels: { gen: "yes" },
      log: lc.ctx.log,
    });
    assert.deepEqual(Object.keys(manifests), ["tar"]);
    assert.equal((await lc.svc.output.resolve("app"))?.digest, manifests.tar!.digest);
    const { manifest, config } = await imageOf(lc, manifests.tar!);
    assert.deepEqual(manifest.layers, [added[0].desc]);
    assert.deepEqual(config.rootfs.diff_ids, [added[0].diffId]);
    assert.equal(config.history?.[0].created_by, "stacker overlay dir for hello");
    assert.deepEqual(config.config?.Labels, { a: "b", gen: "yes" });
    assert.equal(manifest.annotations?.["io.stackeroci.stacker.stacker_yaml"], "# test\napp");
  },
});

Deno.test({
  name:
    "writeLayerImages() chains each layer type on the start image of that type, converting the added layers",
  ignore: !isRoot,
  fn: async () => {
    await using lc = await tempLayerContext({ layerTypes: ["tar", "squashfs"] });
    const parentAdded = await addedLayer(lc, "parent", "p\n");
    const parent = await writeLayerImages(lc.ctx, {
      planned: plannedOf({ name: "parent", from: { type: "scratch" } }, lc.src),
      starts: new Map(),
      added: parentAdded,
      log: lc.ctx.log,
    });
    assert.equal((await lc.svc.output.resolve("parent-squashfs"))?.digest, parent.squashfs!.digest);
    const parentSq = await imageOf(lc, parent.squashfs!);
    assert.match(parentSq.manifest.layers[0].mediaType, /squashfs/);
    assert.notEqual(parentSq.manifest.layers[0].digest, parentAdded[0].desc.digest, "converted, not the tar");

    const starts = new Map<LayerType, StartImage>();
    for (const t of ["tar", "squashfs"] as const) {
      const img = await imageOf(lc, parent[t]!);
      starts.set(t, { ...img, source: lc.svc.output });
    }
    const childAdded = await addedLayer(lc, "child", "c\n");
    const child = await writeLayerImages(lc.ctx, {
      planned: plannedOf({ name: "child", from: { type: "built", tag: "parent" } }, lc.src),
      starts,
      added: childAdded,
      log: lc.ctx.log,
    });
    const tar = await imageOf(lc, child.tar!);
    assert.deepEqual(tar.manifest.layers, [parentAdded[0].desc, childAdded[0].desc]);
    const sq = await imageOf(lc, child.squashfs!);
    assert.equal(sq.manifest.layers.length, 2);
    assert.deepEqual(
      sq.manifest.layers[0],
      parentSq.manifest.layers[0],
      "the parent's squashfs layer, reused",
    );
    assert.match(sq.manifest.layers[1].mediaType, /squashfs/);
    assert.equal(sq.config.rootfs.diff_ids.length, 2);
  },
});

Deno.test({
  name: "writeLayerImages() leaves a build_only layer untagged, removing a tag it had before",
  ignore: !isRoot,
  fn: async () => {
    await using lc = await tempLayerContext();
    const added = await addedLayer(lc, "x", "x\n");
    const def: LayerDefinition = { name: "tool", from: { type: "scratch" } };
    const first = await writeLayerImages(lc.ctx, {
      planned: plannedOf(def, lc.src),
      starts: new Map(),
      added,
      log: lc.ctx.log,
    });
    assert.equal((await lc.svc.output.resolve("tool"))?.digest, first.tar!.digest);
    const second = await writeLayerImages(lc.ctx, {
      planned: plannedOf({ ...def, buildOnly: true }, lc.src),
      starts: new Map(),
      added,
      log: lc.ctx.log,
    });
    assert.ok(second.tar, "the manifest is still written");
    assert.equal(await lc.svc.output.hasBlob(second.tar.digest), true);
    assert.equal(await lc.svc.output.resolve("tool"), undefined);
  },
});

Deno.test({
  name: "retag() points a tag at a manifest, keeps it when it already does, and removes it for undefined",
  ignore: !isRoot,
  fn: async () => {
    await using lc = await tempLayerContext();
    const a = await lc.svc.output.putJson({ a: 1 }, "application/json");
    const b = await lc.svc.output.putJson({ b: 1 }, "application/json");
    await retag(lc.svc, "t", a);
    assert.equal((await lc.svc.output.resolve("t"))?.digest, a.digest);
    await retag(lc.svc, "t", a);
    assert.equal((await lc.svc.output.resolve("t"))?.digest, a.digest);
    await retag(lc.svc, "t", b);
    assert.equal((await lc.svc.output.resolve("t"))?.digest, b.digest);
    await retag(lc.svc, "t", undefined);
    assert.equal(await lc.svc.output.resolve("t"), undefined);
    await retag(lc.svc, "t", undefined);
    assert.equal(await lc.svc.output.resolve("t"), undefined, "removing an absent tag is a no-op");
  },
});
