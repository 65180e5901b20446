import assert from "node:assert/strict";
import { gzipSync, zstdCompressSync } from "node:zlib";
import { createHash } from "node:crypto";
import { unpackImage, unpackLayer, type UnpackOptions } from "../../lib/layer/mod.ts";
import { LayerError } from "../../lib/util/errors.ts";
import { memoryLogger } from "../../lib/util/log.ts";
import { lgetxattr } from "../../lib/ffi/libc.ts";
import {
  busyboxLayout,
  debianLayout,
  multiLayerLayout,
  runAsTestUser,
  testUserIds,
} from "../../scripts/fixtures/mod.ts";
import { opener, type RawEntry, tarOf, tgzOf } from "../_helpers/layer_tar.ts";
import { diffSnapshots, layerAsTestUser, snapshot, tempRoot } from "../_helpers/layer_root.ts";
import { layoutLayers } from "../_helpers/layer_oci.ts";

const GZ = "application/vnd.oci.image.layer.v1.tar+gzip";
const TAR = "application/vnd.oci.image.layer.v1.tar";
const ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd";
const apply: UnpackOptions = { mediaType: GZ, whiteouts: "apply", digest: "sha256:feed" };

function sha256(b: Uint8Array): string {
  return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}

async function unpackAll(rootfs: string, layers: RawEntry[][], opts: Partial<UnpackOptions> = {}) {
  return await unpackImage(
    layers.map((l, i) => ({ open: opener(tgzOf(l)), mediaType: GZ, digest: `sha256:layer${i}` })),
    rootfs,
    { whiteouts: "apply", ...opts },
  );
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch {
    return false;
  }
}

async function umociUnpack(layout: string, tag: string, bundle: string, rootless = false) {
  const args = ["unpack", ...(rootless ? ["--rootless"] : []), "--image", `${layout}:${tag}`, bundle];
  const out = rootless
    ? await runAsTestUser(["umoci", ...args])
    : await new Deno.Command("umoci", { args, stdout: "piped", stderr: "piped" }).output().then((o) => ({
      code: o.code,
      stderr: new TextDecoder().decode(o.stderr),
    }));
  assert.equal(out.code, 0, `umoci unpack failed: ${out.stderr}`);
}

Deno.test("unpackImage() gives the same tree as umoci unpack (as root)", async (t) => {
  for (
    const [name, make] of [["busybox", busyboxLayout], ["multi-layer", multiLayerLayout], [
      "debian",
      debianLayout,
    ]] as const
  ) {
    await t.step(name, async () => {
      const { dir, tag } = await make();
      await using r = await tempRoot();
      const stats = await unpackImage(await layoutLayers(dir, tag), r.rootfs, { whiteouts: "apply" });
      assert.ok(stats.every((s) => s.entries > 0));
      await umociUnpack(dir, tag, `${r.dir}/bundle`);
      const ours = await snapshot(r.rootfs);
      const theirs = await snapshot(`${r.dir}/bundle/rootfs`);
      assert.ok(Object.keys(ours).length > 10);
      assert.deepEqual(diffSnapshots(ours, theirs), []);
    });
  }
});

Deno.test("unpackImage() as the test user gives the same tree as umoci unpack --rootless", async (t) => {
  const ids = await testUserIds();
  for (const [name, make] of [["busybox", busyboxLayout], ["multi-layer", multiLayerLayout]] as const) {
    await t.step(name, async () => {
      const { dir, tag } = await make();
      await using r = await tempRoot(ids);
      const layers = await layoutLayers(dir, tag);
      const res = await layerAsTestUser({ rootfs: `${r.rootfs}/ours`, layers });
      assert.equal(res.code, 0, res.log);
      assert.equal(res.out.ok, true, JSON.stringify(res.out));
      await umociUnpack(dir, tag, `${r.rootfs}/bundle`, true);
      const ours = await snapshot(`${r.rootfs}/ours`);
      const theirs = await snapshot(`${r.rootfs}/bundle/rootfs`);
      assert.equal(ours["bin/busybox"]?.uid ?? ours["etc/hostname"]?.uid, ids.uid);
      assert.deepEqual(diffSnapshots(ours, theirs), []);
    });
  }
});

/** Each hostile layer list must be refused with `code`, or (code undefined) be contained. */
const HOSTILE: { name: string; layers: (outside: string) => RawEntry[][]; code?: string }[] = [
  { name: "DotDotName", layers: () => [[{ path: "../canary", body: "pwned" }]], code: "layer.unsafe-name" },
  {
    name: "DotDotInside",
    layers: () => [[{ path: "a/../../canary", body: "pwned" }]],
    code: "layer.unsafe-name",
  },
  { name: "AbsoluteName", layers: (o) => [[{ path: `${o}/canary`, body: "pwned" }]] },
  {
    name: "SymlinkParentAbsolute",
    layers: (o) => [[{ path: "evil", type: "symlink", target: o }, { path: "evil/canary", body: "pwned" }]],
  },
  {
    name: "SymlinkParentRelative",
    layers: () => [[
      { path: "evil", type: "symlink", target: "../../../../../../../outside" },
      { path: "evil/canary", body: "pwned" },
    ]],
  },
  {
    name: "SymlinkParentFromEarlierLayer",
    layers: (o) => [[{ path: "evil", type: "symlink", target: o }], [{ path: "evil/new", body: "pwned" }]],
  },
  {
    name: "SymlinkChainAcrossLayers",
    layers: (o) => [
      [{ path: "a", type: "symlink", target: "b/c" }, { path: "b", type: "dir" }],
      [{ path: "b/c", type: "symlink", target: o }],
      [{ path: "a/canary", body: "pwned" }],
    ],
  },
  {
    name: "FinalSymlinkIsReplacedNotFollowed",
    layers: (
      o,
    ) => [[{ path: "link", type: "symlink", target: `${o}/canary` }], [{ path: "link", body: "pwned" }]],
  },
  {
    name: "HardlinkDotDot",
    layers: () => [[{ path: "h", type: "hardlink", target: "../outside/canary" }]],
    code: "layer.unsafe-name",
  },
  {
    name: "HardlinkAbsoluteOutside",
    layers: (o) => [[{ path: "h", type: "hardlink", target: `${o}/canary` }]],
    code: "layer.bad-hardlink",
  },
  {
    name: "HardlinkThroughSymlink",
    layers: (
      o,
    ) => [[{ path: "evil", type: "symlink", target: o }, {
      path: "h",
      type: "hardlink",
      target: "evil/canary",
    }]],
    code: "layer.bad-hardlink",
  },
  {
    name: "HardlinkToSelf",
    layers: () => [[{ path: "h", type: "hardlink", target: "h" }]],
    code: "layer.bad-hardlink",
  },
  {
    name: "HardlinkToSelfExisting",
    layers: () => [[{ path: "h", body: "x" }, { path: "./h", type: "hardlink", target: "h" }]],
    code: "layer.bad-hardlink",
  },
  {
    name: "HardlinkToDir",
    layers: () => [[{ path: "d", type: "dir" }, { path: "h", type: "hardlink", target: "d" }]],
    code: "layer.bad-hardlink",
  },
  {
    name: "HardlinkMissing",
    layers: () => [[{ path: "h", type: "hardlink", target: "nope" }]],
    code: "layer.bad-hardlink",
  },
  { name: "WhiteoutDotDot", layers: () => [[{ path: ".wh..." }]], code: "layer.bad-whiteout" },
  { name: "WhiteoutEmpty", layers: () => [[{ path: "a/.wh." }]], code: "layer.bad-whiteout" },
  { name: "WhiteoutDot", layers: () => [[{ path: ".wh.." }]], code: "layer.bad-whiteout" },
  { name: "WhiteoutParentDotDot", layers: () => [[{ path: "../.wh.outside" }]], code: "layer.unsafe-name" },
  {
    name: "WhiteoutThroughSymlink",
    layers: (o) => [[{ path: "evil", type: "symlink", target: o }], [{ path: "evil/.wh.canary" }]],
  },
  {
    name: "OpaqueThroughSymlink",
    layers: (o) => [[{ path: "evil", type: "symlink", target: o }], [{ path: "evil/.wh..wh..opq" }]],
  },
  {
    name: "RootBecomesSymlink",
    layers: (o) => [[{ path: "./", type: "symlink", target: o }]],
    code: "layer.root-type",
  },
  { name: "RootBecomesFile", layers: () => [[{ path: "/", body: "x" }]], code: "layer.root-type" },
  { name: "UnknownTypeflag", layers: () => [[{ path: "x", type: "Z" }]], code: "layer.bad-typeflag" },
  { name: "SparseEntry", layers: () => [[{ path: "x", type: "S" }]], code: "layer.sparse" },
  {
    name: "PaxSparse",
    layers: () => [[{ path: "x", pax: { "GNU.sparse.major": "1", "GNU.sparse.minor": "0" } }]],
    code: "layer.sparse",
  },
  { name: "BadChecksum", layers: () => [[{ path: "x", badChecksum: true }]], code: "layer.bad-header" },
  { name: "EmptyName", layers: () => [[{ path: "" }]], code: "layer.bad-name" },
  {
    name: "NonUtf8Name",
    layers: () => [[{ path: new Uint8Array([0x61, 0xff, 0xfe]), body: "x" }]],
    code: "layer.non-utf8-name",
  },
  {
    name: "SymlinkLoop",
    layers:
      () => [[{ path: "a", type: "symlink", target: "b" }, { path: "b", type: "symlink", target: "a" }, {
        path: "a/x",
        body: "x",
      }]],
    code: "layer.symlink-loop",
  },
  {
    name: "FileUnderFile",
    layers: () => [[{ path: "f", body: "x" }, { path: "f/x", body: "x" }]],
    code: "layer.not-a-dir",
  },
  {
    name: "PaxPathDotDot",
    layers: () => [[{ path: "innocent", pax: { path: "../canary" }, body: "pwned" }]],
    code: "layer.unsafe-name",
  },
  {
    name: "GnuLongNameDotDot",
    layers: () => [[{
      path: "innocent",
      gnuLongName: `${"a/".repeat(60)}../../../../../../../../../../../../../x`,
    }]],
    code: "layer.unsafe-name",
  },
];

Deno.test("unpackLayer() refuses or contains hostile entries (as root)", async (t) => {
  for (const c of HOSTILE) {
    await t.step(c.name, async () => {
      await using r = await tempRoot();
      const layers = c.layers(r.outside);
      let err: unknown;
      try {
        await unpackAll(r.rootfs, layers);
      } catch (e) {
        err = e;
      }
      if (c.code) {
        assert.ok(err instanceof LayerError, `expected ${c.code}, got ${err}`);
        assert.equal(err.code, c.code, err.message);
        assert.match(String(err.context.digest), /^sha256:layer\d$/);
        assert.ok(
          err.context.entry !== undefined || c.code === "layer.bad-header",
          JSON.stringify(err.context),
        );
      } else {
        assert.equal(err, undefined, String(err));
      }
      assert.ok(await r.outsideUntouched(), "something outside the rootfs changed");
      assert.equal((await Deno.lstat(r.rootfs)).isDirectory, true);
    });
  }
});

Deno.test("unpackLayer() refuses or contains hostile entries (as the test user)", async () => {
  const ids = await testUserIds();
  await using r = await tempRoot(ids);
  await Deno.chown(r.outside, ids.uid, ids.gid);
  await Deno.chown(r.canary, ids.uid, ids.gid);
  for (const c of HOSTILE) {
    const layers = c.layers(r.outside).map((l, i) => {
      const path = `${r.dir}/${c.name}-${i}.tar.gz`;
      Deno.writeFileSync(path, tgzOf(l));
      return { path, mediaType: GZ };
    });
    const { out, log } = await layerAsTestUser({ rootfs: `${r.rootfs}/${c.name}`, layers });
    if (c.code) assert.equal(out.code, c.code, `${c.name}: ${log}`);
    else assert.equal(out.ok, true, `${c.name}: ${log}`);
    assert.ok(await r.outsideUntouched(), `${c.name}: something outside the rootfs changed`);
  }
});

Deno.test("unpackLayer() creates missing parents and accepts their entries later", async () => {
  await using r = await tempRoot();
  await unpackAll(r.rootfs, [[
    { path: "a/b/c", body: "c" },
    { path: "a/b/", type: "dir", mode: 0o750 },
    { path: "a/", type: "dir", mode: 0o700, uid: 7 },
    { path: "a/b/c", body: "again" },
  ]]);
  const snap = await snapshot(r.rootfs);
  assert.deepEqual([snap["a"].mode, snap["a"].uid, snap["a/b"].mode], [0o700, 7, 0o750]);
  assert.equal(await Deno.readTextFile(`${r.rootfs}/a/b/c`), "again");
});

Deno.test("unpackLayer() recreates names instead of writing through shared inodes", async () => {
  await using r = await tempRoot();
  await unpackAll(r.rootfs, [
    [{ path: "a", body: "lower" }],
    [{ path: "b", type: "hardlink", target: "a" }],
    [{ path: "b", body: "upper" }],
  ]);
  assert.equal(await Deno.readTextFile(`${r.rootfs}/a`), "lower");
  assert.equal(await Deno.readTextFile(`${r.rootfs}/b`), "upper");
});

Deno.test("unpackLayer() applies whiteouts and opaque directories in any order", async (t) => {
  const lower: RawEntry[] = [
    { path: "a", body: "a" },
    { path: "d/", type: "dir" },
    { path: "d/x", body: "x" },
    { path: "d/y", body: "y" },
    { path: "o/", type: "dir" },
    { path: "o/p", body: "p" },
    { path: "o/sub/", type: "dir" },
    { path: "o/sub/old", body: "old" },
  ];
  for (const markerFirst of [true, false]) {
    await t.step(markerFirst ? "opaque marker first" : "opaque marker last", async () => {
      await using r = await tempRoot();
      const opq: RawEntry = { path: "o/.wh..wh..opq" };
      const upper: RawEntry[] = [
        { path: ".wh.a" },
        { path: "d/.wh.x" },
        { path: "n", body: "same layer" },
        { path: ".wh.n" },
        ...(markerFirst ? [opq] : []),
        { path: "o/q", body: "q" },
        { path: "o/sub/", type: "dir" },
        { path: "o/sub/new", body: "new" },
        ...(markerFirst ? [] : [opq]),
      ];
      await unpackAll(r.rootfs, [lower, upper]);
      const snap = await snapshot(r.rootfs);
      assert.deepEqual(Object.keys(snap).sort(), ["d", "d/y", "n", "o", "o/q", "o/sub", "o/sub/new"]);
    });
  }
});

Deno.test("unpackLayer() in overlay mode writes overlay whiteouts", async () => {
  await using r = await tempRoot();
  await unpackLayer(
    opener(tgzOf([{ path: "o/", type: "dir" }, { path: "o/.wh..wh..opq" }, { path: ".wh.gone" }])),
    r.rootfs,
    {
      ...apply,
      whiteouts: "overlay",
    },
  );
  const st = await Deno.lstat(`${r.rootfs}/gone`);
  assert.equal(st.isCharDevice, true);
  assert.equal(st.rdev, 0);
  assert.deepEqual(lgetxattr(`${r.rootfs}/o`, "user.overlay.opaque"), new TextEncoder().encode("y"));
  assert.equal(await exists(`${r.rootfs}/o/.wh..wh..opq`), false);
});

Deno.test("unpackLayer() reads PAX, GNU long names and xattrs written by GNU tar", async () => {
  await using r = await tempRoot();
  const src = `${r.dir}/src`;
  const long = "d".repeat(120) + "/" + "f".repeat(150);
  await Deno.mkdir(`${src}/${long.split("/")[0]}`, { recursive: true });
  await Deno.writeTextFile(`${src}/${long}`, "long");
  await Deno.writeTextFile(`${src}/caps`, "caps");
  const cap = "0100000200200000000000000000000000000000"; // v2 capability: cap_net_bind_service
  await new Deno.Command("setfattr", { args: ["-n", "security.capability", "-v", `0x${cap}`, `${src}/caps`] })
    .output();
  await new Deno.Command("setfattr", { args: ["-n", "user.bin", "-v", "0x00ff0a", `${src}/caps`] }).output();
  await Deno.writeTextFile(`${src}/big-uid`, "u");
  await Deno.chown(`${src}/big-uid`, 3000000, 3000001);
  await Deno.writeTextFile(`${src}/suid`, "s");
  await Deno.chmod(`${src}/suid`, 0o4755);
  for (const format of ["pax", "gnu"]) {
    const tar = `${r.dir}/${format}.tar`;
    const res = await new Deno.Command("tar", {
      args: [`--format=${format}`, "--xattrs", "--xattrs-include=*", "-C", src, "-cf", tar, "."],
    }).output();
    assert.equal(res.code, 0);
    const rootfs = `${r.rootfs}/${format}`;
    const bytes = await Deno.readFile(tar);
    const stats = await unpackLayer(opener(bytes), rootfs, {
      ...apply,
      mediaType: TAR,
      diffId: sha256(bytes),
    });
    assert.equal(stats.diffId, sha256(bytes));
    assert.equal(await Deno.readTextFile(`${rootfs}/${long}`), "long");
    const big = await Deno.lstat(`${rootfs}/big-uid`);
    assert.deepEqual([big.uid, big.gid], [3000000, 3000001]);
    assert.equal((await Deno.lstat(`${rootfs}/suid`)).mode! & 0o7777, 0o4755);
    if (format === "pax") {
      assert.deepEqual(lgetxattr(`${rootfs}/caps`, "user.bin"), new Uint8Array([0, 0xff, 0x0a]));
      const got = lgetxattr(`${rootfs}/caps`, "security.capability");
      assert.equal(got && Array.from(got, (b) => b.toString(16).padStart(2, "0")).join(""), cap);
    }
  }
});

Deno.test("unpackLayer() accepts multi-member gzip, zstd and plain tar, checked against magic bytes", async (t) => {
  const tar = tarOf([{ path: "a", body: "A".repeat(5000) }, { path: "b", body: "B" }]);
  const members = new Uint8Array([...gzipSync(tar.subarray(0, 1000)), ...gzipSync(tar.subarray(1000))]);
  const cases: [string, Uint8Array, string, string?][] = [
    ["multi-member gzip", members, GZ],
    ["zstd", new Uint8Array(zstdCompressSync(tar)), ZSTD],
    ["plain", tar, TAR],
    ["gzip labelled zstd", members, ZSTD, "layer.bad-compression"],
    ["plain labelled gzip", tar, GZ, "layer.bad-compression"],
    ["gzip labelled plain", members, TAR, "layer.bad-compression"],
    [
      "corrupt CRC",
      (() => {
        const b = gzipSync(tar);
        b[b.length - 6] ^= 0xff;
        return new Uint8Array(b);
      })(),
      GZ,
      "layer.bad-compression",
    ],
    ["truncated gzip", members.subarray(0, members.length - 30), GZ],
  ];
  for (const [name, bytes, mediaType, code] of cases) {
    await t.step(name, async () => {
      await using r = await tempRoot();
      const p = unpackLayer(opener(bytes), r.rootfs, { ...apply, mediaType, diffId: sha256(tar) });
      if (name === "truncated gzip") {
        await assert.rejects(p, LayerError);
      } else if (code) {
        await assert.rejects(p, (e: LayerError) => e.code === code);
      } else {
        const stats = await p;
        assert.equal(stats.diffId, sha256(tar));
        assert.equal(await Deno.readTextFile(`${r.rootfs}/b`), "B");
      }
    });
  }
});

Deno.test("unpackLayer() checks the diff_id and the budgets", async (t) => {
  await t.step("diff_id mismatch", async () => {
    await using r = await tempRoot();
    await assert.rejects(
      unpackLayer(opener(tgzOf([{ path: "a", body: "a" }])), r.rootfs, {
        ...apply,
        diffId: sha256(new Uint8Array(1)),
      }),
      (e: LayerError) => e.code === "layer.diffid-mismatch" && e.context.digest === "sha256:feed",
    );
  });
  await t.step("a gzip bomb stops at the byte budget", async () => {
    await using r = await tempRoot();
    const bomb = tgzOf([{ path: "zeros", body: new Uint8Array(20 << 20) }]);
    assert.ok(bomb.length < 100_000);
    await assert.rejects(
      unpackLayer(opener(bomb), r.rootfs, { ...apply, budget: { maxBytes: 1 << 20 } }),
      (e: LayerError) => e.code === "layer.budget",
    );
  });
  await t.step("entry budget", async () => {
    await using r = await tempRoot();
    const many = Array.from({ length: 20 }, (_, i) => ({ path: `f${i}`, body: "" }));
    await assert.rejects(
      unpackLayer(opener(tgzOf(many)), r.rootfs, { ...apply, budget: { maxEntries: 10 } }),
      (e: LayerError) => e.code === "layer.budget",
    );
  });
  await t.step("a declared size beyond the stream is truncation", async () => {
    await using r = await tempRoot();
    const t = tarOf([{ path: "big", body: "x", size: 1 << 30 }], false);
    await assert.rejects(
      unpackLayer(opener(t), r.rootfs, { ...apply, mediaType: TAR }),
      (e: LayerError) => e.code === "layer.truncated",
    );
  });
});

Deno.test("unpackLayer() honours the first end-of-archive marker and ignores global headers", async () => {
  await using r = await tempRoot();
  const first = tarOf([{ path: "g", type: "g", body: "18 comment=hello\n" }, { path: "a", body: "a" }]);
  const after = tarOf([{ path: "b", body: "b" }]);
  const bytes = new Uint8Array([...first, ...after]);
  const stats = await unpackLayer(opener(bytes), r.rootfs, { ...apply, mediaType: TAR });
  assert.equal(stats.entries, 1);
  assert.equal(stats.diffId, sha256(bytes));
  assert.equal(await exists(`${r.rootfs}/a`), true);
  assert.equal(await exists(`${r.rootfs}/b`), false);
  assert.equal(await exists(`${r.rootfs}/g`), false);
});

Deno.test("unpackImage() as the test user skips devices once per layer and fills mode-000 directories", async () => {
  const ids = await testUserIds();
  await using r = await tempRoot(ids);
  const l1 = `${r.dir}/l1.tar.gz`, l2 = `${r.dir}/l2.tar.gz`;
  await Deno.writeFile(
    l1,
    tgzOf([
      { path: "dev/null", type: "char", major: 1, minor: 3 },
      { path: "dev/sda", type: "block", major: 8, minor: 0 },
      { path: "locked/", type: "dir", mode: 0o000 },
      { path: "locked/inner", body: "in", mode: 0o000 },
      { path: "fifo", type: "fifo", mode: 0o640 },
    ]),
  );
  await Deno.writeFile(l2, tgzOf([{ path: "locked/later", body: "later", mode: 0o600 }]));
  const { out: res, log } = await layerAsTestUser({
    rootfs: `${r.rootfs}/u`,
    layers: [{ path: l1, mediaType: GZ }, { path: l2, mediaType: GZ }],
  });
  const out = res as { ok: boolean; stats: { skippedDevices: number }[]; warnings: string[] };
  assert.equal(out.ok, true, log);
  assert.equal(out.stats[0].skippedDevices, 2);
  assert.equal(out.warnings.filter((l: string) => l.includes("device")).length, 1);
  const snap = await snapshot(`${r.rootfs}/u`);
  assert.equal(snap["locked"].mode, 0);
  assert.equal(snap["locked/inner"].uid, ids.uid);
  assert.equal(snap["locked/later"].sha256, createHash("sha256").update("later").digest("hex"));
  assert.equal(snap["fifo"].type, "fifo");
  assert.equal(snap["fifo"].mode, 0o640);
  assert.equal(snap["dev/null"], undefined);
});

Deno.test("unpackLayer() as root creates devices and applies owners", async () => {
  await using r = await tempRoot();
  const { log } = memoryLogger();
  await unpackLayer(
    opener(tgzOf([
      { path: "dev/null", type: "char", major: 1, minor: 3, mode: 0o666 },
      { path: "home/u/", type: "dir", uid: 1000, gid: 1000, mode: 0o700 },
      { path: "home/u/f", body: "f", uid: 1000, gid: 1000, mode: 0o2755 },
      { path: "link", type: "symlink", target: "/nonexistent", uid: 33, gid: 33 },
    ])),
    r.rootfs,
    { ...apply, log },
  );
  const snap = await snapshot(r.rootfs);
  assert.equal(snap["dev/null"].type, "char");
  assert.equal(snap["dev/null"].mode, 0o666);
  assert.deepEqual([snap["home/u"].uid, snap["home/u"].mode], [1000, 0o700]);
  assert.deepEqual([snap["home/u/f"].gid, snap["home/u/f"].mode], [1000, 0o2755]);
  assert.deepEqual([snap["link"].uid, snap["link"].target], [33, "/nonexistent"]);
  assert.equal((await Deno.lstat(`${r.rootfs}/home/u/f`)).mtime?.getTime(), 1700000000_000);
});
