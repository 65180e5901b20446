/**
 * layerKeyOf() with the real services on scratch and built bases: what changes the key (a run line,
 * an import's bytes, an overlay dir's bytes, the layer types, verity with a filesystem type) and
 * what does not (mtimes, verity on tar-only builds), and that layerCacheLookup() answers with the
 * same key the build stores. Root only (real storage).
 */
import assert from "node:assert/strict";
import { BuildError } from "../../lib/util/errors.ts";
import { MediaType } from "../../lib/oci/types.ts";
import { type CacheKey, compareKeys } from "../../lib/builder/build_cache.ts";
import {
  canonicalJson,
  definitionKey,
  layerCacheLookup,
  layerKeyOf,
  runEnvHash,
} from "../../lib/builder/layer_key.ts";
import { parseStackerFile } from "../../lib/stackerfile/mod.ts";
import type { BuildLayerContext } from "../../lib/builder/layer_context.ts";
import type { LayerDefinition } from "../../lib/builder/types.ts";
import { plannedOf, type TempLayerContext, tempLayerContext } from "./_helpers/layer_context.ts";

const isRoot = Deno.uid() === 0;

function scratchDef(t: TempLayerContext, patch: Partial<LayerDefinition> = {}): LayerDefinition {
  return {
    name: "app",
    from: { type: "scratch" },
    imports: [{ path: `${t.src}/conf.txt` }],
    overlayDirs: [{ source: `${t.src}/overlay`, dest: "/opt" }],
    run: ["echo one", "echo two"],
    ...patch,
  };
}

async function writeSources(t: TempLayerContext): Promise<void> {
  await Deno.writeTextFile(`${t.src}/conf.txt`, "a=1\n");
  await Deno.mkdir(`${t.src}/overlay/sub`, { recursive: true });
  await Deno.writeTextFile(`${t.src}/overlay/sub/file`, "x\n");
}

async function keyOf(
  t: TempLayerContext,
  def: LayerDefinition,
  patch: Partial<BuildLayerContext> = {},
): Promise<CacheKey> {
  return (await layerKeyOf(plannedOf(def, t.src), { ...t.ctx, ...patch })).key;
}

Deno.test("canonicalJson() sorts object keys at every depth and keeps array order", () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: null } }), '{"a":{"c":null,"d":[2,1]},"b":1}');
  assert.equal(canonicalJson({ a: 1, b: 2 }), canonicalJson({ b: 2, a: 1 }));
});

Deno.test("definitionKey() of a parsed layer: its directives only, not where they sit or what follows from them", () => {
  const yaml = (pre: string, buildOnly: string) =>
    `${pre}app:\n  from:\n    type: scratch\n  imports:\n    - conf.txt\n    - https://example.com/f\n` +
    `  run: echo hi\n  cmd: /bin/app --serve${buildOnly}\n`;
  const [parsed] = parseStackerFile(yaml("", ""), "/proj/stacker.yaml").layers;
  // The key as the build has always computed it: the directives, no import kinds, no false flags.
  assert.equal(
    definitionKey(parsed),
    '{"cmd":["/bin/app","--serve"],"from":{"type":"scratch"},"imports":[{"path":"/proj/conf.txt"},' +
      '{"path":"https://example.com/f"}],"name":"app","run":["echo hi"]}',
  );
  const moved = parseStackerFile(
    yaml("# a comment\nfirst:\n  from:\n    type: scratch\n", "\n  build_only: false"),
    "/proj/stacker.yaml",
  )
    .layers[1];
  assert.notDeepEqual(moved.positions, parsed.positions);
  assert.equal(
    definitionKey(moved),
    definitionKey(parsed),
    "position, file order and build_only: false are not in it",
  );
  assert.notEqual(definitionKey({ ...parsed, buildOnly: true }), definitionKey(parsed));
  assert.equal(
    definitionKey({ name: "app", from: { type: "scratch" }, imports: [{ path: "/proj/conf.txt" }] }),
    definitionKey({
      name: "app",
      from: { type: "scratch" },
      imports: [{ path: "/proj/conf.txt", kind: "local" }],
    }),
  );
});

Deno.test("runEnvHash() depends on names and values, not on their order", () => {
  assert.equal(runEnvHash({ A: "1", B: "2" }), runEnvHash({ B: "2", A: "1" }));
  assert.notEqual(runEnvHash({ A: "1" }), runEnvHash({ A: "2" }));
  assert.match(runEnvHash({}), /^sha256:[0-9a-f]{64}$/);
});

Deno.test({
  name: "layerKeyOf() changes with a run line, an import's bytes and an overlay dir's bytes, not with mtimes",
  ignore: !isRoot,
  fn: async (t) => {
    await using lc = await tempLayerContext();
    await writeSources(lc);
    const first = await keyOf(lc, scratchDef(lc));
    assert.equal(first.base, "", "scratch has no base key");
    assert.deepEqual(first.layerTypes, ["tar"]);
    assert.equal(compareKeys(first, await keyOf(lc, scratchDef(lc))), undefined, "same inputs, same key");

    await t.step("a changed run line", async () => {
      const k = await keyOf(lc, scratchDef(lc, { run: ["echo one", "echo 2"] }));
      assert.equal(compareKeys(first, k), "cache miss because layer definition was changed");
    });
    await t.step("touched mtimes of an import and an overlay file", async () => {
      const past = new Date("2001-02-03T04:05:06Z");
      await Deno.utime(`${lc.src}/conf.txt`, past, past);
      await Deno.utime(`${lc.src}/overlay/sub/file`, past, past);
      await Deno.utime(`${lc.src}/overlay/sub`, past, past);
      assert.deepEqual(await keyOf(lc, scratchDef(lc)), first);
    });
    await t.step("an import's bytes", async () => {
      await Deno.writeTextFile(`${lc.src}/conf.txt`, "a=2\n");
      const k = await keyOf(lc, scratchDef(lc));
      assert.equal(compareKeys(first, k), `cache miss because import content changed: ${lc.src}/conf.txt`);
      await Deno.writeTextFile(`${lc.src}/conf.txt`, "a=1\n");
      assert.deepEqual(await keyOf(lc, scratchDef(lc)), first, "restored bytes give the first key back");
    });
    await t.step("a new import", async () => {
      await Deno.writeTextFile(`${lc.src}/more.txt`, "more\n");
      const def = scratchDef(lc, {
        imports: [{ path: `${lc.src}/conf.txt` }, { path: `${lc.src}/more.txt` }],
      });
      const k = await keyOf(lc, def);
      assert.notDeepEqual(k.imports, first.imports);
      assert.notEqual(k.definition, first.definition);
    });
    await t.step("an overlay dir's bytes", async () => {
      await Deno.writeTextFile(`${lc.src}/overlay/sub/file`, "y\n");
      const k = await keyOf(lc, scratchDef(lc));
      assert.notDeepEqual(k.overlayDirs, first.overlayDirs);
      assert.equal(k.definition, first.definition);
      assert.deepEqual(k.imports, first.imports);
    });
  },
});

Deno.test({
  name: "layerKeyOf() records the layer types, and verity only when a filesystem type is requested",
  ignore: !isRoot,
  fn: async () => {
    await using lc = await tempLayerContext();
    await writeSources(lc);
    const def = scratchDef(lc);
    const tar = await keyOf(lc, def);
    assert.equal("verity" in tar, false);
    assert.deepEqual(await keyOf(lc, def, { verity: true }), tar, "verity means nothing to tar-only builds");

    const both = await keyOf(lc, def, { layerTypes: ["squashfs", "tar"] });
    assert.deepEqual(both.layerTypes, ["squashfs", "tar"], "sorted");
    assert.equal(both.verity, false, "verity defaults to off");
    assert.notDeepEqual(both, tar);
    const withVerity = await keyOf(lc, def, { layerTypes: ["tar", "squashfs"], verity: true });
    assert.equal(withVerity.verity, true);
    assert.notEqual(compareKeys(both, withVerity), undefined);
    const erofs = await keyOf(lc, def, { layerTypes: ["tar", "erofs"] });
    assert.notDeepEqual(erofs.layerTypes, both.layerTypes);
  },
});

Deno.test({
  name: "layerKeyOf() keys a built child on its parent's tar manifest, whichever types are requested",
  ignore: !isRoot,
  fn: async (t) => {
    await using lc = await tempLayerContext();
    const out = lc.svc.output;
    const config = await out.putJson({
      architecture: "amd64",
      os: "linux",
      rootfs: { type: "layers", diff_ids: [] },
      config: {},
    }, MediaType.ociConfig);
    const manifestOf = async (note: string) =>
      await out.putJson({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config,
        layers: [],
        annotations: { note },
      }, MediaType.ociManifest);
    const tarManifest = await manifestOf("tar");
    const sqManifest = await manifestOf("squashfs");
    const child: LayerDefinition = { name: "child", from: { type: "built", tag: "parent" }, run: "true" };
    const parentKey = { ...(await keyOf(lc, { name: "parent", from: { type: "scratch" } })) };

    await t.step("a parent that was never built is refused", async () => {
      const e = await layerKeyOf(plannedOf(child, lc.src), lc.ctx).then(() => undefined, (x) => x);
      assert.ok(e instanceof BuildError);
      assert.equal(e.code, "build.missing-parent");
      assert.equal(e.context.parent, "parent");
    });

    await lc.ctx.cache.put({
      name: "parent",
      key: parentKey,
      manifests: { tar: tarManifest, squashfs: sqManifest },
      buildOnly: false,
      snapshot: "parent",
    });
    await t.step("tar, squashfs or both: the base key is the tar manifest", async () => {
      const onlyTar = await layerKeyOf(plannedOf(child, lc.src), lc.ctx);
      assert.equal(onlyTar.key.base, tarManifest.digest);
      assert.equal(onlyTar.starts.get("tar")?.manifest?.annotations?.note, "tar");
      const onlySq = await layerKeyOf(plannedOf(child, lc.src), { ...lc.ctx, layerTypes: ["squashfs"] });
      assert.equal(onlySq.key.base, tarManifest.digest);
      assert.equal(onlySq.starts.get("squashfs")?.manifest?.annotations?.note, "squashfs");
    });
    await t.step("a type the parent was not built with is refused, naming it", async () => {
      const e = await layerKeyOf(plannedOf(child, lc.src), { ...lc.ctx, layerTypes: ["erofs"] })
        .then(() => undefined, (x) => x);
      assert.ok(e instanceof BuildError);
      assert.equal(e.code, "build.missing-parent");
      assert.equal(e.context.type, "erofs");
    });
    await t.step("a parent with no tar image: every manifest it has is the base key", async () => {
      await lc.ctx.cache.put({
        name: "parent",
        key: parentKey,
        manifests: { squashfs: sqManifest },
        buildOnly: false,
      });
      const k = await keyOf(lc, child, { layerTypes: ["squashfs"] });
      assert.equal(k.base, `squashfs=${sqManifest.digest}`);
    });
  },
});

Deno.test({
  name: "layerKeyOf() refuses an overlay dir that is not a directory",
  ignore: !isRoot,
  fn: async () => {
    await using lc = await tempLayerContext();
    await writeSources(lc);
    const def = scratchDef(lc, { overlayDirs: [{ source: `${lc.src}/conf.txt`, dest: "/" }] });
    const e = await layerKeyOf(plannedOf(def, lc.src), lc.ctx).then(() => undefined, (x) => x);
    assert.ok(e instanceof BuildError);
    assert.equal(e.code, "build.overlay-dir-missing");
    assert.equal(e.context.source, `${lc.src}/conf.txt`);
  },
});

Deno.test({
  name: "layerCacheLookup() hits on the key the build stored and misses, with the reason, on a change",
  ignore: !isRoot,
  fn: async () => {
    await using lc = await tempLayerContext();
    await writeSources(lc);
    const planned = plannedOf(scratchDef(lc), lc.src);
    const miss = await layerCacheLookup(planned, lc.ctx);
    assert.deepEqual(miss, { hit: false, reason: "cache miss because layer was not built before" });
    const { key } = await layerKeyOf(planned, lc.ctx);
    await lc.ctx.cache.put({ name: "app", key, manifests: {}, buildOnly: false, snapshot: "app" });
    const hit = await layerCacheLookup(planned, lc.ctx);
    assert.equal(hit.hit, true);
    await Deno.writeTextFile(`${lc.src}/conf.txt`, "changed\n");
    const changed = await layerCacheLookup(planned, lc.ctx);
    assert.deepEqual(changed, {
      hit: false,
      reason: `cache miss because import content changed: ${lc.src}/conf.txt`,
    });
  },
});
