/**
 * LayerConverter with the real services: a tar layer holding a whiteout and an opaque dir becomes a
 * squashfs layer with overlay whiteouts, the conversion is reused from its content-addressed map,
 * and a squashfs layer goes back to tar with the OCI whiteout names. Root only (overlay whiteouts
 * are 0/0 char devices).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { silentLogger } from "../../lib/util/log.ts";
import type { Digest } from "../../lib/oci/types.ts";
import { lgetxattr } from "../../lib/ffi/libc.ts";
import { LayerConverter } from "../../lib/builder/layer_conversion.ts";
import { tarOf, tgzOf } from "../_helpers/layer_tar.ts";
import { countingServices } from "./_helpers/counting_services.ts";

const isRoot = Deno.uid() === 0;
const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}` as Digest;

async function run(cmd: string, args: string[]): Promise<string> {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  return new TextDecoder().decode(r.stdout);
}

Deno.test({
  name: "LayerConverter turns a tar layer into squashfs with overlay whiteouts, reuses it, and converts back",
  ignore: !isRoot,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "conversion-test-" });
    try {
      const svc = await countingServices({
        ociDir: `${dir}/oci`,
        rootsDir: `${dir}/roots`,
        stackerDir: `${dir}/stacker`,
      });
      const entries = [
        { path: "etc/", type: "dir", mode: 0o755 },
        { path: "etc/hello", body: "hello\n", mode: 0o644 },
        { path: "etc/.wh.gone", body: "" },
        { path: "opq/", type: "dir", mode: 0o755 },
        { path: "opq/.wh..wh..opq", body: "" },
        { path: "opq/kept", body: "k" },
      ];
      const tgz = tgzOf(entries);
      const stored = await svc.output.putBlob(ReadableStream.from([tgz]));
      const tarLayer = {
        desc: { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...stored },
        diffId: sha(tarOf(entries)),
        source: svc.output,
      };

      const conv = new LayerConverter(`${dir}/stacker`, svc, silentLogger);
      const sq = await conv.convert(tarLayer, {
        target: "squashfs",
        verity: false,
        sourceDateEpoch: 1700000000,
      });
      assert.match(sq.desc.mediaType, /^application\/vnd\.stacker\.image\.layer\.squashfs\+(zstd|gzip)$/);
      assert.equal(sq.diffId, sq.desc.digest, "a squashfs layer's diff_id is its blob digest");
      assert.equal(await svc.output.hasBlob(sq.desc.digest), true);
      const blob = `${dir}/oci/blobs/sha256/${sq.desc.digest.slice(7)}`;
      const listing = await run("unsquashfs", ["-lls", "-d", "", blob]);
      assert.match(listing, /^c\S+\s+\S+\s+0,\s+0 .* \/etc\/gone$/m, "whiteout kept as a 0/0 char device");
      assert.match(listing, / \/etc\/hello$/m);
      assert.doesNotMatch(listing, /\.wh\./, "no OCI whiteout names in squashfs");
      const tree = `${dir}/tree`;
      await run("unsquashfs", ["-d", tree, blob]);
      assert.deepEqual(lgetxattr(`${tree}/opq`, "user.overlay.opaque"), new TextEncoder().encode("y"));
      const unpacksAfterFirst = svc.counters.unpacks;
      assert.equal(unpacksAfterFirst, 1);

      // A second converter (a later build) finds the conversion in the map: no unpack, same blob.
      const again = await new LayerConverter(`${dir}/stacker`, svc, silentLogger)
        .convert(tarLayer, { target: "squashfs", verity: false, sourceDateEpoch: 1700000000 });
      assert.deepEqual(again, sq);
      assert.equal(svc.counters.unpacks, unpacksAfterFirst, "a known conversion is not redone");

      // A layer already of the target type is used as it is.
      assert.deepEqual(
        await conv.convert({ ...sq, source: svc.output }, { target: "squashfs", verity: false }),
        sq,
      );

      // squashfs → tar: overlay whiteouts become OCI whiteout files again.
      const back = await conv.convert({ ...sq, source: svc.output }, {
        target: "tar",
        verity: false,
        sourceDateEpoch: 1700000000,
      });
      assert.equal(back.desc.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
      const names = (await run("tar", ["-tzf", `${dir}/oci/blobs/sha256/${back.desc.digest.slice(7)}`]))
        .split("\n").filter((l) => l).map((l) => l.replace(/^\.\//, ""));
      for (const n of ["etc/hello", "etc/.wh.gone", "opq/.wh..wh..opq", "opq/kept"]) {
        assert.ok(names.includes(n), `${n} in ${names.join(" ")}`);
      }
      // A mapping whose blob is gone is not trusted.
      await Deno.remove(blob);
      const redone = await new LayerConverter(`${dir}/stacker`, svc, silentLogger)
        .convert(tarLayer, { target: "squashfs", verity: false, sourceDateEpoch: 1700000000 });
      assert.equal(redone.desc.digest, sq.desc.digest, "same input and epoch: same squashfs bytes");
      assert.equal(await svc.output.hasBlob(sq.desc.digest), true);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
