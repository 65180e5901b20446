import assert from "node:assert/strict";
import { multiLayerLayout } from "../../scripts/fixtures/mod.ts";
import { OciLayout } from "../../lib/oci/mod.ts";
import type { Descriptor } from "../../lib/oci/mod.ts";
import { copyImage, layoutDestination, layoutSource } from "../../lib/transport/mod.ts";
import type { ImageSource } from "../../lib/transport/mod.ts";
import { OciError } from "../../lib/util/errors.ts";
import { makeProgress } from "../../lib/util/progress.ts";
import { memoryLogger } from "../../lib/util/log.ts";

const PLATFORM = { os: "linux", arch: "amd64" };

Deno.test("copyImage() copies layout to layout, skips present blobs and reports progress", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const f = await multiLayerLayout();
    const src = layoutSource(await OciLayout.open(f.dir), f.tag);
    const dst = await OciLayout.open(`${dir}/out`, { create: true });
    const { log, lines } = memoryLogger("info");
    const r = await copyImage(src, layoutDestination(dst), {
      platform: PLATFORM,
      tags: ["a", "b"],
      concurrency: 2,
      progress: makeProgress({ bars: false, log }),
    });
    assert.equal(r.copied, r.manifest.layers.length + 1);
    assert.equal(lines.length, r.copied);
    assert.deepEqual((await dst.tags()).map((t) => t.name).sort(), ["a", "b"]);
    assert.equal((await dst.resolve("a"))?.digest, r.descriptor.digest);
    const again = await copyImage(src, layoutDestination(dst), { platform: PLATFORM, tags: ["c"] });
    assert.equal(again.copied, 0);
    assert.equal(again.skipped, r.copied);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("copyImage() tags nothing when a blob fails", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const f = await multiLayerLayout();
    const layout = await OciLayout.open(f.dir);
    const good = layoutSource(layout, f.tag);
    const broken: ImageSource = {
      name: "broken",
      manifest: (p) => good.manifest(p),
      async openBlob(desc: Descriptor) {
        if (desc.mediaType.includes("layer")) {
          throw new OciError("Cannot read blob: injected", { code: "oci.missing-blob" });
        }
        return await good.openBlob(desc);
      },
    };
    const dst = await OciLayout.open(`${dir}/out`, { create: true });
    await assert.rejects(
      copyImage(broken, layoutDestination(dst), { platform: PLATFORM, tags: ["t"] }),
      OciError,
    );
    assert.deepEqual(await dst.tags(), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
