/**
 * generateOverlayLayers() and prepareRootfs() with the real services (copy storage): overlay dirs
 * become layers at their dest, scratch trees are removed, and the rootfs is stacked from a base's
 * layers or unpacked from a tar base with the overlay dirs copied in. Root only (real storage).
 */
import assert from "node:assert/strict";
import { BuildError } from "../../lib/util/errors.ts";
import { type Digest, MediaType } from "../../lib/oci/types.ts";
import { generateOverlayLayers, prepareRootfs } from "../../lib/builder/layer_rootfs.ts";
import type { Snapshot } from "../../lib/storage/mod.ts";
import { type TempLayerContext, tempLayerContext } from "./_helpers/layer_context.ts";

const isRoot = Deno.uid() === 0;

async function run(cmd: string, args: string[]): Promise<string> {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  return new TextDecoder().decode(r.stdout);
}

/** Names in a stored gzip tar layer, without "./" and trailing "/". */
async function tarNames(lc: TempLayerContext, digest: Digest): Promise<string[]> {
  const out = await run("tar", ["-tzf", `${lc.svc.output.dir}/blobs/${digest.replace(":", "/")}`]);
  const names = out.split("\n").map((l) => l.replace(/^\.\//, "").replace(/\/$/, ""));
  return names.filter((l) => l !== "" && l !== ".").sort();
}

function rootfsOf(s: Snapshot): string {
  assert.equal(s.diff.kind, "trees", "copy storage gives tree snapshots");
  return s.diff.kind === "trees" ? s.diff.rootfs : "";
}

async function scratchLeft(lc: TempLayerContext): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(lc.ctx.stackerDir)) {
    if (/^\.(empty|overlay)-/.test(e.name)) names.push(e.name);
  }
  return names;
}

Deno.test({
  name:
    "generateOverlayLayers() makes one layer per non-empty overlay dir, at its dest, and leaves no scratch",
  ignore: !isRoot,
  fn: async () => {
    await using lc = await tempLayerContext();
    await Deno.mkdir(`${lc.src}/top/etc`, { recursive: true });
    await Deno.writeTextFile(`${lc.src}/top/etc/top.conf`, "top\n");
    await Deno.mkdir(`${lc.src}/deep`);
    await Deno.writeTextFile(`${lc.src}/deep/tool`, "#!/bin/sh\n");
    await Deno.mkdir(`${lc.src}/empty`);
    const added = await generateOverlayLayers(lc.ctx, {
      layer: "app",
      overlayDirs: [
        { source: `${lc.src}/top`, dest: "/" },
        { source: `${lc.src}/empty`, dest: "/" },
        { source: `${lc.src}/deep`, dest: "/opt/deep/" },
      ],
    });
    assert.equal(added.length, 2, "the empty dir adds no layer");
    for (const l of added) {
      assert.equal(l.createdBy, "stacker overlay dir for app");
      assert.equal(await lc.svc.output.hasBlob(l.desc.digest), true);
    }
    assert.deepEqual(await tarNames(lc, added[0].desc.digest), ["etc", "etc/top.conf"]);
    assert.deepEqual(await tarNames(lc, added[1].desc.digest), ["opt", "opt/deep", "opt/deep/tool"]);
    assert.deepEqual(await scratchLeft(lc), []);
  },
});

Deno.test({
  name: "prepareRootfs() stacks the overlay layers on scratch, and applies them over an unpacked tar base",
  ignore: !isRoot,
  fn: async (t) => {
    await using lc = await tempLayerContext();
    await Deno.mkdir(`${lc.src}/ov`);
    await Deno.writeTextFile(`${lc.src}/ov/added`, "added\n");
    const overlayDirs = [{ source: `${lc.src}/ov`, dest: "/srv" }];

    await t.step("scratch with an overlay layer", async () => {
      const overlayLayers = await generateOverlayLayers(lc.ctx, { layer: "onscratch", overlayDirs });
      const snap = await prepareRootfs(lc.ctx, {
        def: { name: "onscratch", from: { type: "scratch" } },
        base: { kind: "scratch" },
        start: {},
        overlayLayers,
      });
      assert.equal(await Deno.readTextFile(`${rootfsOf(snap)}/srv/added`), "added\n");
    });

    await t.step("a tar base", async () => {
      await Deno.mkdir(`${lc.dir}/tarroot/etc`, { recursive: true });
      await Deno.writeTextFile(`${lc.dir}/tarroot/etc/os-release`, "ID=test\n");
      await run("tar", ["-czf", `${lc.dir}/base.tar.gz`, "-C", `${lc.dir}/tarroot`, "."]);
      const snap = await prepareRootfs(lc.ctx, {
        def: { name: "ontar", from: { type: "tar", url: `${lc.dir}/base.tar.gz` } },
        base: { kind: "tar", path: `${lc.dir}/base.tar.gz`, digest: "sha256:unused", compression: "gzip" },
        start: {},
        overlayLayers: await generateOverlayLayers(lc.ctx, { layer: "ontar", overlayDirs }),
      });
      assert.equal(await Deno.readTextFile(`${rootfsOf(snap)}/etc/os-release`), "ID=test\n");
      assert.equal(await Deno.readTextFile(`${rootfsOf(snap)}/srv/added`), "added\n");
    });
  },
});

Deno.test({
  name: "prepareRootfs() refuses a base whose layers and diff_ids disagree",
  ignore: !isRoot,
  fn: async () => {
    await using lc = await tempLayerContext();
    const layer = {
      mediaType: MediaType.ociLayerGzip,
      digest: `sha256:${"0".repeat(64)}` as Digest,
      size: 1,
    };
    const config = {
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers" as const, diff_ids: [] },
      config: {},
    };
    const manifest = {
      schemaVersion: 2 as const,
      mediaType: MediaType.ociManifest,
      config: { mediaType: MediaType.ociConfig, digest: layer.digest, size: 1 },
      layers: [layer],
    };
    const e = await prepareRootfs(lc.ctx, {
      def: { name: "bad", from: { type: "oci", url: "x" } },
      base: {
        kind: "image",
        layout: lc.svc.output,
        manifestDescriptor: { mediaType: MediaType.ociManifest, digest: layer.digest, size: 1 },
        manifest,
        config,
        cacheTag: "base-unused",
      },
      start: { manifest, config, source: lc.svc.output },
      overlayLayers: [],
    }).then(() => undefined, (x) => x);
    assert.ok(e instanceof BuildError);
    assert.equal(e.code, "build.bad-base");
    assert.equal(e.context.layer, "bad");
  },
});
