import assert from "node:assert/strict";
import { memoryLogger } from "../../lib/util/log.ts";
import { BuildCache, CACHE_VERSION, compareKeys, keyDigest } from "../../lib/build/build_cache.ts";
import type { CacheEntry, CacheKey } from "../../lib/build/build_cache.ts";

const key: CacheKey = {
  definition: '{"name":"a"}',
  base: "sha256:base",
  sourceDateEpoch: null,
  imports: { "/src/f": { kind: "file", hash: "sha256:f" }, "/src/d": { kind: "dir", hash: "sha256:d" } },
  overlayDirs: { "/o1": "sha256:o1", "/o2": "sha256:o2" },
  runEnv: "sha256:env",
  layerTypes: ["tar"],
  hasBinds: false,
};
const entry = (name: string, k = key): CacheEntry => ({
  name,
  key: k,
  manifests: { tar: { mediaType: "m", digest: `sha256:${"1".repeat(64)}`, size: 1 } },
  buildOnly: false,
});

Deno.test("compareKeys() names each reason for a miss", async (t) => {
  const cases: [string, Partial<CacheKey>, string][] = [
    ["binds", { hasBinds: true }, "rebuilding cached layer due to use of binds in stacker file"],
    ["definition", { definition: "{}" }, "cache miss because layer definition was changed"],
    ["base", { base: "sha256:other" }, "cache miss because base layer changed"],
    ["epoch", { sourceDateEpoch: 7 }, "cache miss because SOURCE_DATE_EPOCH changed"],
    [
      "new import",
      { imports: { ...key.imports, "/src/g": { kind: "file", hash: "x" } } },
      "cache miss because of new import: /src/g",
    ],
    [
      "file content",
      { imports: { ...key.imports, "/src/f": { kind: "file", hash: "x" } } },
      "cache miss because import content changed: /src/f",
    ],
    [
      "dir content",
      { imports: { ...key.imports, "/src/d": { kind: "dir", hash: "x" } } },
      "cache miss because import dir content changed: /src/d",
    ],
    [
      "dest moved",
      { imports: { ...key.imports, "/src/f": { kind: "file", hash: "sha256:f", dest: "/x" } } },
      "cache miss because import content changed: /src/f",
    ],
    [
      "import removed",
      { imports: { "/src/f": key.imports["/src/f"] } },
      "cache miss because import was removed: /src/d",
    ],
    [
      "overlay dirs",
      { overlayDirs: { "/o1": "x", "/o3": "y" } },
      "cache miss because content of 3 overlay dirs changed: /o1, /o2, /o3",
    ],
    ["run env", { runEnv: "sha256:other" }, "cache miss because build environment changed"],
    [
      "layer types",
      { layerTypes: ["squashfs", "tar"] },
      "missing some cached layer output types, building anyway",
    ],
  ];
  for (const [name, patch, want] of cases) {
    await t.step(name, () => assert.equal(compareKeys(key, { ...key, ...patch }), want));
  }
  assert.equal(compareKeys(key, structuredClone(key)), undefined);
});

Deno.test("compareKeys() serves fewer layer types from an entry with more, and compares verity", async (t) => {
  const both: CacheKey = { ...key, layerTypes: ["squashfs", "tar"], verity: true };
  await t.step("tar only from tar+squashfs: hit", () => {
    assert.equal(compareKeys(both, key), undefined);
  });
  await t.step("squashfs only from tar+squashfs: hit", () => {
    assert.equal(compareKeys(both, { ...key, layerTypes: ["squashfs"], verity: true }), undefined);
  });
  await t.step("tar+squashfs from tar only: miss", () => {
    assert.equal(compareKeys(key, both), "missing some cached layer output types, building anyway");
  });
  await t.step("verity changed: miss", () => {
    assert.equal(compareKeys(both, { ...both, verity: false }), "cache miss because verity setting changed");
    assert.equal(
      compareKeys({ ...both, verity: undefined }, both),
      "cache miss because verity setting changed",
    );
  });
});

Deno.test("keyDigest() changes with any field", async () => {
  assert.equal(await keyDigest(key), await keyDigest(structuredClone(key)));
  assert.notEqual(await keyDigest(key), await keyDigest({ ...key, runEnv: "x" }));
});

Deno.test("BuildCache persists entries, logs hits and misses, prunes invalid entries", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/build.cache`;
    const { log, lines } = memoryLogger();
    const c = await BuildCache.open(path, { log });
    assert.deepEqual(c.lookup("a", key), {
      hit: false,
      reason: "cache miss because layer was not built before",
    });
    await c.put(entry("a"));
    await c.put(entry("b"));
    const onDisk = JSON.parse(await Deno.readTextFile(path));
    assert.equal(onDisk.version, CACHE_VERSION);
    assert.deepEqual(Object.keys(onDisk.cache), ["a", "b"]);
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name),
      ["build.cache"],
      "no temp left",
    );

    const again = await BuildCache.open(path, { log, isValid: (e) => e.name !== "b" });
    assert.equal(again.lookup("a", key).hit, true);
    assert.ok(lines.includes("found cached layer a"));
    assert.equal(again.get("b"), undefined, "pruned");
    const miss = again.lookup("a", { ...key, base: "z" });
    assert.equal(miss.hit, false);
    assert.ok(lines.some((l) => l.startsWith("cache miss because base layer changed")));
    await again.delete("a");
    assert.equal((await BuildCache.open(path, { log })).get("a"), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("BuildCache.open() discards another version and an unreadable file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/build.cache`;
    const { log, lines } = memoryLogger();
    await Deno.writeTextFile(path, JSON.stringify({ version: 16, cache: { a: entry("a") } }));
    assert.equal((await BuildCache.open(path, { log })).get("a"), undefined);
    assert.ok(lines.some((l) => l.startsWith("old cache version found")));
    await Deno.writeTextFile(path, '{"version": 10');
    assert.deepEqual((await BuildCache.open(path, { log })).entries(), []);
    assert.ok(lines.some((l) => l.includes("discarding unreadable build cache")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
