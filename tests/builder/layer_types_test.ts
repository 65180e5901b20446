import assert from "node:assert/strict";
import { BuildError } from "../../lib/util/errors.ts";
import { isFsLayerType, layerTypeOf, outputTag, parseLayerTypes } from "../../lib/builder/layer_types.ts";

Deno.test("parseLayerTypes() defaults to tar, drops repeats, keeps order and refuses unknown types", () => {
  assert.deepEqual(parseLayerTypes(undefined), ["tar"]);
  assert.deepEqual(parseLayerTypes([]), ["tar"]);
  assert.deepEqual(parseLayerTypes(["squashfs", "tar", "squashfs"]), ["squashfs", "tar"]);
  assert.deepEqual(parseLayerTypes(["erofs"]), ["erofs"]);
  assert.throws(() => parseLayerTypes(["tar", "zip"]), (e: BuildError) => {
    assert.equal(e.code, "build.layer-type");
    assert.equal(e.message, "unknown layer type: zip");
    return true;
  });
});

Deno.test("outputTag() names one tag per layer type", () => {
  assert.equal(outputTag("app", "tar"), "app");
  assert.equal(outputTag("app", "squashfs"), "app-squashfs");
  assert.equal(outputTag("app", "erofs"), "app-erofs");
});

Deno.test("layerTypeOf() tells the type of a stored layer from its media type", () => {
  assert.equal(layerTypeOf("application/vnd.oci.image.layer.v1.tar+gzip"), "tar");
  assert.equal(layerTypeOf("application/vnd.docker.image.rootfs.diff.tar.gzip"), "tar");
  assert.equal(layerTypeOf("application/vnd.stacker.image.layer.squashfs+zstd"), "squashfs");
  assert.equal(layerTypeOf("application/vnd.stacker.image.layer.squashfs+gzip"), "squashfs");
  assert.equal(layerTypeOf("application/vnd.stacker.image.layer.erofs+lz4hc"), "erofs");
  assert.equal(isFsLayerType("tar"), false);
  assert.equal(isFsLayerType("squashfs"), true);
});
