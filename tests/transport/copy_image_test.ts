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

Deno.test("copyImage() into a full disk fails cleanly, keeps the layout valid and frees what it wrote", async () => {
  const { debianLayout } = await import("../../scripts/fixtures/mod.ts");
  const dir = await Deno.makeTempDir();
  const mnt = `${dir}/small`;
  await Deno.mkdir(mnt);
  // 8 MiB cannot hold the Debian layer (~80 MB): the blob write hits ENOSPC half-way
  const mount = await new Deno.Command("mount", { args: ["-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt] })
    .output();
  assert.equal(mount.code, 0, new TextDecoder().decode(mount.stderr));
  try {
    const small = await multiLayerLayout();
    const dst = await OciLayout.open(`${mnt}/oci`, { create: true });
    await copyImage(layoutSource(await OciLayout.open(small.dir), small.tag), layoutDestination(dst), {
      platform: PLATFORM,
      tags: ["kept"],
    });
    const free = async () => {
      const out = await new Deno.Command("df", { args: ["--output=avail", "-B1", mnt] }).output();
      return Number(new TextDecoder().decode(out.stdout).trim().split("\n")[1]);
    };
    const before = await free();
    const big = await debianLayout();
    const err = await copyImage(
      layoutSource(await OciLayout.open(big.dir), big.tag),
      layoutDestination(dst),
      {
        platform: PLATFORM,
        tags: ["big", "kept"],
      },
    ).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof Error, "the copy must fail");
    assert.ok(err instanceof OciError && err.code === "oci.no-space", String(err));
    assert.match(
      err.message,
      /^Cannot store blob "sha256:[0-9a-f]{64}" in ".*\/oci": no space left on device$/,
    );
    // nothing partial: the old tag still points where it did, the new one does not exist, every
    // stored blob matches its name, no temp file is left taking the space
    assert.deepEqual((await dst.tags()).map((t) => t.name), ["kept"]);
    for await (const e of Deno.readDir(`${mnt}/oci/blobs/sha256`)) {
      const bytes = await Deno.readFile(`${mnt}/oci/blobs/sha256/${e.name}`);
      const sum = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
      assert.equal(Array.from(sum, (b) => b.toString(16).padStart(2, "0")).join(""), e.name);
    }
    assert.ok((await free()) >= before - 64 * 1024, "the partial blob's space is given back");
    const again = await OciLayout.open(`${mnt}/oci`);
    assert.equal((await again.resolve("kept"))?.digest, (await dst.resolve("kept"))?.digest);
  } finally {
    await new Deno.Command("umount", { args: [mnt] }).output();
    await Deno.remove(dir, { recursive: true });
  }
});
