import assert from "node:assert/strict";
import { MediaType } from "../../lib/oci/types.ts";
import { silentLogger } from "../../lib/util/log.ts";
import { realStages, tarMediaTypeOf } from "../../lib/builder/_stages.ts";

async function tarOf(dir: string, out: string, flag: string[]): Promise<void> {
  const r = await new Deno.Command("tar", { args: ["-c", ...flag, "-f", out, "-C", dir, "."] }).output();
  assert.ok(r.success);
}

Deno.test("tarMediaTypeOf() and unpackTar() handle gzip, zstd and plain rootfs tarballs", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/src/etc`, { recursive: true });
    await Deno.writeTextFile(`${dir}/src/etc/hello`, "hi");
    const stages = realStages({ stackerDir: `${dir}/stacker`, log: silentLogger });
    const cases: [string, string[], string][] = [
      ["plain", [], MediaType.ociLayer],
      ["gzip", ["-z"], MediaType.ociLayerGzip],
      ["zstd", ["--zstd"], MediaType.ociLayerZstd],
    ];
    for (const [name, flag, mediaType] of cases) {
      await t.step(name, async () => {
        const tar = `${dir}/${name}.tar`;
        await tarOf(`${dir}/src`, tar, flag);
        assert.equal(await tarMediaTypeOf(tar), mediaType);
        const out = `${dir}/out-${name}`;
        await Deno.mkdir(out);
        await stages.unpackTar(tar, out);
        assert.equal(await Deno.readTextFile(`${out}/etc/hello`), "hi");
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("realStages().generateLayer() is undefined for an unchanged tree and digests a changed one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/base`);
    await Deno.mkdir(`${dir}/rootfs`);
    const stages = realStages({ stackerDir: `${dir}/stacker`, log: silentLogger });
    assert.equal(
      await stages.generateLayer({ kind: "trees", base: `${dir}/base`, rootfs: `${dir}/rootfs` }, {}),
      undefined,
    );
    await Deno.writeTextFile(`${dir}/rootfs/new`, "x");
    const g = await stages.generateLayer({ kind: "trees", base: `${dir}/base`, rootfs: `${dir}/rootfs` }, {
      sourceDateEpoch: 0,
    });
    assert.ok(g);
    const bytes = new Uint8Array(await new Response(g.stream).arrayBuffer());
    const done = await g.done;
    assert.equal(done.size, bytes.length);
    assert.match(done.digest, /^sha256:[0-9a-f]{64}$/);
    assert.equal(done.mediaType, MediaType.ociLayerGzip);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
