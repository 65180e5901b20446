import assert from "node:assert/strict";
import { btrfsOps, chainKey, CopyStorage, type Snapshot } from "../../lib/storage/copy_dirs.ts";
import { openStorage } from "../../lib/storage/open_storage.ts";
import { isSubvolume } from "../../lib/ffi/btrfs.ts";
import { StorageError } from "../../lib/util/errors.ts";
import { memoryLogger, silentLogger } from "../../lib/util/log.ts";
import type { Digest } from "../../lib/oci/types.ts";
import { runAsTestUser, sourceRootForTestUser, testUserIds } from "../../scripts/fixtures/mod.ts";
import { loopBtrfs } from "./_loop_btrfs.ts";

const d = (n: number) => `sha256:${String(n).padStart(64, "0")}` as Digest;

function trees(s: Snapshot): { base: string; rootfs: string } {
  assert.equal(s.diff.kind, "trees");
  return s.diff as { base: string; rootfs: string };
}

function fakeLayers() {
  const calls: number[] = [];
  const unpack = async (dir: string, whiteouts: string, i: number) => {
    assert.equal(whiteouts, "apply");
    calls.push(i);
    await Deno.writeTextFile(`${dir}/layer${i}`, `layer ${i}\n`);
    if (i > 0) await Deno.remove(`${dir}/layer${i - 1}`);
  };
  return { calls, unpack };
}

Deno.test("btrfs storage: ten images from one base unpack it once; chains are read-only subvolumes", async () => {
  await using fs = await loopBtrfs();
  const roots = `${fs.mnt}/roots`;
  const s = await openStorage({
    rootsDir: roots,
    stackerDir: `${fs.mnt}/.stacker`,
    type: "btrfs",
    log: silentLogger,
  });
  assert.equal(s.kind, "btrfs");
  const { calls, unpack } = fakeLayers();
  for (let i = 0; i < 10; i++) {
    await s.ensureLayers([d(1), d(2)], unpack);
    const snap = trees(await s.prepare(`img${i}`, { chain: [d(1), d(2)] }));
    assert.ok(isSubvolume(snap.rootfs));
    await Deno.writeTextFile(`${snap.rootfs}/own`, `${i}`);
    await s.commit(`img${i}`);
  }
  assert.deepEqual(calls, [0, 1]);
  const chain = `${roots}/chains/${chainKey([d(1), d(2)])}/rootfs`;
  assert.ok(isSubvolume(chain));
  await assert.rejects(() => Deno.writeTextFile(`${chain}/x`, "x"), /Read-only file system/);
  assert.deepEqual(await Array.fromAsync(Deno.readDir(chain), (e) => e.name), ["layer1"]);
  assert.equal((await s.list()).names.length, 10);
  await s.clean();
  assert.deepEqual(await Array.fromAsync(Deno.readDir(roots), (e) => e.name), [".storage.lock"]);
});

Deno.test("btrfs storage: prepare → change → diff trees → commit → built child, temp snapshot, delete, gc", async () => {
  await using fs = await loopBtrfs();
  const s = await CopyStorage.open(`${fs.mnt}/roots`, memoryLogger().log, btrfsOps);
  const { unpack } = fakeLayers();
  await s.ensureLayers([d(1)], unpack);
  const a = trees(await s.prepare("a", { chain: [d(1)] }));
  await Deno.writeTextFile(`${a.rootfs}/from-a`, "a");
  await assert.rejects(() => Deno.lstat(`${a.base}/from-a`), Deno.errors.NotFound);
  await s.commit("a");
  const b = trees(await s.prepare("b", { built: "a" }));
  assert.equal(await Deno.readTextFile(`${b.rootfs}/from-a`), "a");
  await Deno.writeTextFile(`${b.rootfs}/from-b`, "b");
  // the committed parent is read-only and unchanged by the child
  await assert.rejects(() => Deno.writeTextFile(`${b.base}/y`, "y"), /Read-only file system/);
  await assert.rejects(() => Deno.lstat(`${b.base}/from-b`), Deno.errors.NotFound);
  {
    await using tmp = await s.tempSnapshot("a");
    await Deno.writeTextFile(`${trees(tmp).rootfs}/scratch`, "x");
  }
  assert.deepEqual(await Array.fromAsync(Deno.readDir(`${fs.mnt}/roots/tmp`)), []);
  // re-preparing a name drops its previous working state
  const b2 = trees(await s.prepare("b", { built: "a" }));
  await assert.rejects(() => Deno.lstat(`${b2.rootfs}/from-b`), Deno.errors.NotFound);
  await s.delete("a");
  await assert.rejects(() => s.prepare("c", { built: "a" }), StorageError);
  await s.prepare("scratch", { scratch: true });
  await s.commit("scratch");
  const r = await s.gc({ chains: [], names: [] });
  assert.equal(r.removed, 2); // the chain and "scratch"
  assert.deepEqual(await s.list(), { layers: [], names: [] });
});

Deno.test("openStorage refuses btrfs when the roots dir is not on btrfs", async () => {
  const dir = await Deno.makeTempDir({ dir: "/dev/shm", prefix: "stacker-ts-notbtrfs-" });
  try {
    await assert.rejects(
      () =>
        openStorage({ rootsDir: `${dir}/roots`, stackerDir: `${dir}/sd`, type: "btrfs", log: silentLogger }),
      (e) => e instanceof StorageError && e.code === "storage.not-btrfs" && /tmpfs/.test(e.message),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("btrfs storage for the unprivileged test user inside its user namespace: build, commit, clean", async () => {
  await using fs = await loopBtrfs();
  const src = sourceRootForTestUser();
  const script = `${fs.mnt}/probe.ts`;
  await Deno.writeTextFile(
    script,
    `import { openStorage } from "${src}/lib/storage/open_storage.ts";
import { silentLogger } from "${src}/lib/util/log.ts";
const s = await openStorage({ rootsDir: "${fs.mnt}/roots", stackerDir: "${fs.mnt}/sd", type: "btrfs", log: silentLogger });
const c = ["sha256:${"1".repeat(64)}"];
let n = 0;
for (let i = 0; i < 3; i++) {
  await s.ensureLayers(c, async (dir) => { n++; await Deno.writeTextFile(dir + "/f", "x"); await Deno.chown(dir + "/f", 1000, 1000); });
  const snap = await s.prepare("u" + i, { chain: c });
  await Deno.writeTextFile(snap.diff.rootfs + "/mine", "y");
  await s.commit("u" + i);
}
const listed = await s.list();
await s.clean();
console.log(JSON.stringify({ n, names: listed.names, left: await Array.fromAsync(Deno.readDir("${fs.mnt}/roots"), (e) => e.name) }));
`,
  );
  const ids = await testUserIds();
  const r = await runAsTestUser([
    "lxc-usernsexec",
    ...[
      "-m",
      `u:0:${ids.uid}:1`,
      "-m",
      "u:1:100001:65535",
      "-m",
      `g:0:${ids.gid}:1`,
      "-m",
      "g:1:100001:65535",
    ],
    "--",
    Deno.execPath(),
    "run",
    "-A",
    script,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { n: 1, names: ["u0", "u1", "u2"], left: [".storage.lock"] });
});
