import assert from "node:assert/strict";
import { OciError } from "../../lib/util/errors.ts";
import { MediaType } from "../../lib/oci/types.ts";
import { formatInspect, humanSize, inspectImages, inspectJson } from "../../lib/builder/inspect.ts";
import { OciLayout } from "../../lib/oci/mod.ts";

Deno.test("humanSize() uses binary units", () => {
  assert.deepEqual([0, 1023, 1536, 3 * 1024 * 1024].map(humanSize), ["0 B", "1023 B", "1.5 KiB", "3.0 MiB"]);
});

Deno.test("inspectImages() lists every tag with layers, annotations and config; formats text and JSON", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const layout = await OciLayout.open(dir, { create: true });
    const layer = await layout.putBlob(ReadableStream.from([new TextEncoder().encode("not really a tar")]));
    const config = {
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [layer.digest] },
    };
    const configDesc = await layout.putJson(config, MediaType.ociConfig);
    for (const [tag, ann] of [["a", "one\ntwo"], ["b", "x"]]) {
      const m = await layout.putJson({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: configDesc,
        layers: [{ mediaType: MediaType.ociLayerGzip, ...layer }],
        annotations: { "io.stackeroci.stacker.stacker_yaml": ann },
      }, MediaType.ociManifest);
      await layout.tag(tag, m);
    }
    const all = await inspectImages(layout);
    assert.deepEqual(all.map((i) => i.tag), ["a", "b"]);
    const text = formatInspect(await inspectImages(layout, "a"));
    const lines = text.split("\n");
    assert.equal(lines[0], "image: a");
    assert.match(lines[1], /^manifest: sha256:[0-9a-f]{64} \(\d+ B\)$/);
    assert.equal(lines[3], `  ${layer.digest.slice(7, 19)}       16 B ${MediaType.ociLayerGzip}`);
    assert.equal(lines[5], '  io.stackeroci.stacker.stacker_yaml: "one\\ntwo"');
    assert.deepEqual(JSON.parse(text.slice(text.indexOf("{"))), config);
    const json = JSON.parse(inspectJson(all));
    assert.equal(json[1].tag, "b");
    assert.equal(json[1].layers[0].digest, layer.digest);
    await assert.rejects(() => inspectImages(layout, "zzz"), OciError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
