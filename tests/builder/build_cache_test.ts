import assert from "node:assert/strict";
import { memoryLogger } from "../../lib/util/log.ts";
import { BuildCache, CACHE_VERSION, compareKeys, keyDigest } from "../../lib/builder/build_cache.ts";
import type { CacheEntry, CacheKey } from "../../lib/builder/build_cache.ts";

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
      "cache miss because content of 3 overlay dirs changed:\n" +
      "Changed overlay_dir: /o1\nContents that changed:\n" +
      "Changed overlay_dir: /o2\nContents that changed:\n" +
      "and 1 other overlay_dirs. use --debug for complete output",
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

Deno.test("compareKeys() lists the changed files of changed overlay dirs: two dirs, all with debug", () => {
  const dirs = ["/src/d1 -> /usr/local1", "/src/d2 -> /usr/local2", "/src/d3 -> /usr/local3"];
  const before: CacheKey = {
    ...key,
    overlayDirs: Object.fromEntries(dirs.map((d) => [d, "sha256:old"])),
    overlayDirFiles: Object.fromEntries(dirs.map((d, i) => [d, { [`file${i + 1}.txt`]: "a", same: "s" }])),
  };
  const after: CacheKey = {
    ...key,
    overlayDirs: Object.fromEntries(dirs.map((d) => [d, "sha256:new"])),
    overlayDirFiles: Object.fromEntries(
      dirs.map((
        d,
        i,
      ) => [d, { [`file${i + 1}.txt`]: "b", same: "s", ...(i === 0 ? { "sub/added": "c" } : {}) }]),
    ),
  };
  assert.equal(
    compareKeys(before, after),
    [
      "cache miss because content of 3 overlay dirs changed:",
      "Changed overlay_dir: /src/d1",
      "Contents that changed:",
      "/src/d1/file1.txt",
      "/src/d1/sub/added",
      "Changed overlay_dir: /src/d2",
      "Contents that changed:",
      "/src/d2/file2.txt",
      "and 1 other overlay_dirs. use --debug for complete output",
    ].join("\n"),
  );
  const full = compareKeys(before, after, { debug: true })!;
  assert.match(full, /\/src\/d3\/file3\.txt$/);
  assert.doesNotMatch(full, /use --debug/);
  // two changed dirs: both listed, no "other" line
  const two = { ...after, overlayDirs: { ...after.overlayDirs, [dirs[2]]: "sha256:old" } };
  assert.equal(
    compareKeys(before, two)!.split("\n").filter((l) => l.startsWith("Changed overlay_dir")).length,
    2,
  );
  assert.doesNotMatch(compareKeys(before, two)!, /other overlay_dirs/);
});

Deno.test("BuildCache.open() drops malformed entries of its own version instead of failing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/build.cache`;
    const { log } = memoryLogger();
    await Deno.writeTextFile(
      path,
      JSON.stringify({
        version: CACHE_VERSION,
        cache: {
          a: entry("a"),
          b: { Name: "b" },
          c: 5,
          d: { ...entry("d"), manifests: null },
          e: entry("x"),
        },
      }),
    );
    const seen: string[] = [];
    const c = await BuildCache.open(path, { log, isValid: (e) => (seen.push(e.name), true) });
    assert.deepEqual(c.entries().map((e) => e.name), ["a"]);
    assert.deepEqual(seen, ["a"], "isValid only sees well-formed entries");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("BuildCache: an entry pruned with a reason gives that reason on lookup, until put again", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/build.cache`;
    const { log, lines } = memoryLogger();
    const c = await BuildCache.open(path, { log });
    await c.put(entry("a"));
    const reason = "cache miss because overlay_dir was missing: /src/d1";
    const again = await BuildCache.open(path, { log, isValid: () => reason });
    assert.deepEqual(again.lookup("a", key), { hit: false, reason });
    assert.ok(lines.some((l) => l.startsWith(reason)));
    assert.equal(again.lookup("b", key).hit, false);
    await again.put(entry("a"));
    assert.equal(again.lookup("a", key).hit, true);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
