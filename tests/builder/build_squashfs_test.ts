/**
 * `buildLayers` with `layerTypes: ["tar", "squashfs"]` on the busybox fixture, real services: a tag
 * per type, squashfs layers (media type, files, overlay whiteouts, verity root hash), diff_ids, the
 * cache across type sets and verity, and a squashfs image used as the base of a further build.
 * Root only; the unprivileged user is covered through the CLI (tests/commands/build_test.ts).
 */
import assert from "node:assert/strict";
import { busyboxLayout } from "../../scripts/fixtures/mod.ts";
import { memoryLogger } from "../../lib/util/log.ts";
import type { ImageConfig, Manifest } from "../../lib/oci/types.ts";
import { OciLayout } from "../../lib/oci/mod.ts";
import { VERITY_ROOT_HASH_ANNOTATION, veritySupported } from "../../lib/layer/mod.ts";
import { buildLayers } from "../../lib/builder/build.ts";
import type { LayerDefinition } from "../../lib/builder/types.ts";
import { countingServices } from "./_helpers/counting_services.ts";

const isRoot = Deno.uid() === 0;
const SQUASHFS = /^application\/vnd\.stacker\.image\.layer\.squashfs\+(zstd|gzip)$/;

async function output(cmd: string, args: string[]): Promise<string> {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  return new TextDecoder().decode(r.stdout);
}

Deno.test({
  name:
    "buildLayers() builds tar and squashfs images of a built chain, caches both, and uses a squashfs base",
  ignore: !isRoot,
  fn: async (t) => {
    for (const storageType of ["overlay", "copy"] as const) {
      await t.step(storageType, () => squashfsOn(storageType));
    }
  },
});

async function squashfsOn(storageType: "overlay" | "copy"): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "build-squashfs-test-" });
  try {
    const bb = await busyboxLayout();
    const out = `${dir}/oci`;
    const env = { SOURCE_DATE_EPOCH: "1700000000" };
    const build = async (defs: LayerDefinition[], layerTypes: string[], verity?: boolean) => {
      const services = await countingServices({
        ociDir: out,
        rootsDir: `${dir}/roots`,
        stackerDir: `${dir}/stacker`,
        storageType,
      });
      const { log, lines } = memoryLogger("info");
      const result = await buildLayers(
        defs.map((def) => ({ def, file: `${dir}/stacker.yaml`, stackerYaml: "# test" })),
        {
          ociDir: out,
          stackerDir: `${dir}/stacker`,
          rootsDir: `${dir}/roots`,
          env,
          log,
          services,
          layerTypes,
          verity,
        },
      );
      return { result, lines, counters: services.counters };
    };
    const image = async (tag: string) => {
      const layout = await OciLayout.open(out);
      const desc = await layout.resolve(tag);
      assert.ok(desc, `tag ${tag} exists`);
      const manifest = await layout.readJson<Manifest>(desc);
      return { desc, manifest, config: await layout.readJson<ImageConfig>(manifest.config) };
    };
    const blob = (digest: string) => `${out}/blobs/sha256/${digest.slice("sha256:".length)}`;
    const defs: LayerDefinition[] = [{
      name: "parent",
      from: { type: "oci", url: `${bb.dir}:${bb.tag}` },
      run: "mkdir -p /etc/app && echo hello > /etc/app/hello && echo bye > /etc/app/gone",
    }, {
      name: "child",
      from: { type: "built", tag: "parent" },
      run: "rm /etc/app/gone && echo child > /etc/app/child",
    }];

    const first = await build(defs, ["tar", "squashfs"]);
    assert.deepEqual(first.result.layers.map((l) => [l.name, l.cached]), [["parent", false], [
      "child",
      false,
    ]]);
    const tags = (await (await OciLayout.open(out)).tags()).map((x) => x.name);
    assert.deepEqual(tags, ["parent", "parent-squashfs", "child", "child-squashfs"]);

    const tar = await image("child");
    const sq = await image("child-squashfs");
    const base = await image("parent-squashfs");
    assert.equal(tar.manifest.layers.length, 3, "busybox + parent + child");
    assert.equal(sq.manifest.layers.length, 3);
    for (const l of tar.manifest.layers) {
      assert.equal(l.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
    }
    for (const l of sq.manifest.layers) assert.match(l.mediaType, SQUASHFS);
    // the squashfs chain: child's image starts with the parent's squashfs layers
    assert.deepEqual(sq.manifest.layers.slice(0, 2), base.manifest.layers);
    // diff_ids: a squashfs layer's is its blob digest; the tar image keeps the tar diff_ids
    assert.deepEqual(sq.config.rootfs.diff_ids, sq.manifest.layers.map((l) => l.digest));
    assert.equal(tar.config.rootfs.diff_ids.length, 3);
    assert.notDeepEqual(tar.config.rootfs.diff_ids, sq.config.rootfs.diff_ids);
    assert.deepEqual(sq.config.history, tar.config.history, "same history in both images");
    assert.deepEqual(sq.config.config, tar.config.config, "same runtime config in both images");
    assert.deepEqual(sq.manifest.annotations, tar.manifest.annotations);
    if (await veritySupported()) {
      for (const l of sq.manifest.layers) {
        assert.match(
          l.annotations?.[VERITY_ROOT_HASH_ANNOTATION] ?? "",
          /^[0-9a-f]{64}$/,
          "verity by default",
        );
      }
    }
    // the child's own squashfs layer: the file the run made, and the rm as an overlay whiteout
    const top = await output("unsquashfs", ["-lln", "-d", "", blob(sq.manifest.layers[2].digest)]);
    assert.match(top, /^-\S+\s+0\/0\s+6 .* \/etc\/app\/child$/m, top);
    assert.match(top, /^c\S+\s+0\/0\s+0,\s+0 .* \/etc\/app\/gone$/m, "whiteout kept as a 0/0 char device");
    assert.doesNotMatch(top, /hello|busybox/, "only the child's changes");
    const parentTop = await output("unsquashfs", ["-l", "-d", "", blob(sq.manifest.layers[1].digest)]);
    assert.match(parentTop, /^\/etc\/app\/hello$/m);
    const bottom = await output("unsquashfs", ["-l", "-d", "", blob(sq.manifest.layers[0].digest)]);
    assert.match(bottom, /^\/bin\/busybox$/m, "the busybox base converted to squashfs");

    // Rebuild: both layers from the cache, nothing unpacked, run or generated; tags unchanged.
    const second = await build(defs, ["tar", "squashfs"]);
    assert.deepEqual(second.result.layers.map((l) => l.cached), [true, true]);
    assert.deepEqual(second.counters, { unpacks: 0, runs: 0, generated: 0 });
    assert.equal((await image("child-squashfs")).desc.digest, sq.desc.digest);
    assert.equal(second.result.layers[1].manifests.squashfs?.digest, sq.desc.digest);
    assert.equal(second.result.layers[1].manifests.tar?.digest, tar.desc.digest);

    // Fewer types are served from the entry; verity off is a different output: rebuilt.
    const tarOnly = await build(defs, ["tar"]);
    assert.deepEqual(tarOnly.result.layers.map((l) => l.cached), [true, true]);
    if (await veritySupported()) {
      const noVerity = await build(defs, ["tar", "squashfs"], false);
      assert.deepEqual(noVerity.result.layers.map((l) => l.cached), [false, false]);
      assert.ok(noVerity.lines.some((l) => l.includes("cache miss because verity setting changed")));
      const plain = await image("child-squashfs");
      for (const l of plain.manifest.layers) assert.equal(l.annotations, undefined);
      assert.equal((await image("child")).desc.digest, tar.desc.digest, "tar output is reproducible");
    }

    // The squashfs image as the base of a further build (its layers unpacked with unsquashfs),
    // tar output only: the tar image's layers are tar again.
    const user = await build([{
      name: "user",
      from: { type: "oci", url: `${out}:child-squashfs` },
      run: "test -f /etc/app/child && test ! -e /etc/app/gone && cat /etc/app/hello > /etc/app/copied",
    }], ["tar"]);
    assert.equal(user.result.layers[0].cached, false);
    const u = await image("user");
    assert.equal(u.manifest.layers.length, 4);
    for (const l of u.manifest.layers) {
      assert.equal(l.mediaType, "application/vnd.oci.image.layer.v1.tar+gzip");
    }
    assert.deepEqual(u.config.rootfs.diff_ids.length, 4);
    const childAgain = await output("tar", ["-tzf", blob(u.manifest.layers[2].digest)]);
    assert.match(childAgain, /^etc\/app\/child$/m);
    assert.match(childAgain, /^etc\/app\/\.wh\.gone$/m, "the overlay whiteout is an OCI whiteout again");
    const names = await output("tar", ["-tzf", blob(u.manifest.layers[3].digest)]);
    assert.match(names, /etc\/app\/copied/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
