import assert from "node:assert/strict";
import { chainKey, CopyStorage, type Snapshot } from "../../lib/storage/copy_dirs.ts";
import { StorageError } from "../../lib/util/errors.ts";
import { memoryLogger } from "../../lib/util/log.ts";
import type { Digest } from "../../lib/oci/types.ts";
import { runAsTestUser, sourceRootForTestUser } from "../../scripts/fixtures/mod.ts";

const d = (n: number) => `sha256:${String(n).padStart(64, "0")}` as Digest;

/** An unpack callback that writes one file per layer and counts its calls. */
function fakeLayers() {
  const calls: number[] = [];
  const unpack = async (dir: string, whiteouts: string, i: number) => {
    assert.equal(whiteouts, "apply");
    calls.push(i);
    await Deno.writeTextFile(`${dir}/layer${i}`, `layer ${i}\n`);
    if (i > 0) await Deno.remove(`${dir}/layer${i - 1}`); // a whiteout, applied
  };
  return { calls, unpack };
}

function trees(s: Snapshot): { base: string; rootfs: string } {
  assert.equal(s.diff.kind, "trees");
  return s.diff as { base: string; rootfs: string };
}

async function withRoots(fn: (roots: string) => Promise<void>): Promise<void> {
  const roots = await Deno.makeTempDir({ prefix: "stacker-ts-copy-" });
  try {
    await fn(roots);
  } finally {
    await Deno.remove(roots, { recursive: true });
  }
}

Deno.test("CopyStorage unpacks each base chain once, however many images use it", async () => {
  await withRoots(async (roots) => {
    const s = await CopyStorage.open(roots, memoryLogger().log);
    const { calls, unpack } = fakeLayers();
    for (let i = 0; i < 10; i++) {
      await s.ensureLayers([d(1), d(2)], unpack);
      const snap = await s.prepare(`img${i}`, { chain: [d(1), d(2)] });
      await Deno.writeTextFile(`${trees(snap).rootfs}/own`, `${i}`);
      await s.commit(`img${i}`);
    }
    assert.deepEqual(calls, [0, 1]);
    assert.equal(s.unpacked, 2);
    // a longer chain reuses the shared prefix
    await s.ensureLayers([d(1), d(2), d(3)], unpack);
    assert.deepEqual(calls, [0, 1, 2]);
    assert.equal((await s.list()).names.length, 10);
  });
});

Deno.test("CopyStorage prepare → change → commit → built child sees the parent, diff inputs are tree pairs", async () => {
  await withRoots(async (roots) => {
    const s = await CopyStorage.open(roots, memoryLogger().log);
    const { unpack } = fakeLayers();
    await s.ensureLayers([d(1)], unpack);
    const a = trees(await s.prepare("a", { chain: [d(1)] }));
    await Deno.writeTextFile(`${a.rootfs}/from-a`, "a");
    // the base tree is untouched by changes to the rootfs
    await assert.rejects(() => Deno.lstat(`${a.base}/from-a`), Deno.errors.NotFound);
    await s.commit("a");
    const b = trees(await s.prepare("b", { built: "a" }));
    assert.equal(await Deno.readTextFile(`${b.rootfs}/from-a`), "a");
    assert.equal(await Deno.readTextFile(`${b.base}/from-a`), "a");
    await using tmp = await s.tempSnapshot("a");
    assert.equal(tmp.lxcRootfs.path, `dir:${trees(tmp).rootfs}`);
    await Deno.writeTextFile(`${trees(tmp).rootfs}/scratch`, "x");
    const again = await s.tempSnapshot("a");
    await assert.rejects(() => Deno.lstat(`${trees(again).rootfs}/scratch`), Deno.errors.NotFound);
    await again[Symbol.asyncDispose]();
    await s.delete("a");
    await assert.rejects(() => s.prepare("c", { built: "a" }), StorageError);
  });
});

Deno.test("CopyStorage leaves no half-unpacked chain when unpack fails, and clears leftovers on open", async () => {
  await withRoots(async (roots) => {
    const s = await CopyStorage.open(roots, memoryLogger().log);
    await assert.rejects(
      () => s.ensureLayers([d(9)], () => Promise.reject(new Error("bad layer"))),
      /bad layer/,
    );
    assert.deepEqual((await s.list()).layers, []);
    await assert.rejects(() => Deno.lstat(`${roots}/chains/${chainKey([d(9)])}`), Deno.errors.NotFound);
    await Deno.mkdir(`${roots}/tmp/chain-killed`, { recursive: true });
    await CopyStorage.open(roots, memoryLogger().log);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(`${roots}/tmp`)), []);
  });
});

Deno.test("CopyStorage refuses layer names that are not one path component", async () => {
  await withRoots(async (roots) => {
    const s = await CopyStorage.open(roots, memoryLogger().log);
    for (const bad of ["../x", "a/b", "..", ""]) {
      await assert.rejects(() => s.prepare(bad, { scratch: true }), StorageError, bad);
    }
  });
});

Deno.test("CopyStorage gc removes chains and layers nothing keeps; clean removes everything", async () => {
  await withRoots(async (roots) => {
    const s = await CopyStorage.open(roots, memoryLogger().log);
    const { unpack } = fakeLayers();
    await s.ensureLayers([d(1), d(2)], unpack);
    await s.ensureLayers([d(5)], unpack);
    for (const n of ["keep", "drop"]) {
      await s.prepare(n, { scratch: true });
      await s.commit(n);
    }
    const r = await s.gc({ chains: [[d(1), d(2)]], names: ["keep"] });
    assert.equal(r.removed, 2);
    assert.deepEqual((await s.list()).names, ["keep"]);
    assert.equal((await s.list()).layers.length, 2);
    await s.clean();
    assert.deepEqual((await Array.fromAsync(Deno.readDir(roots))).map((e) => e.name), [".storage.lock"]);
  });
});

Deno.test("CopyStorage works for the unprivileged test user", async () => {
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "stacker-ts-copy-user-" });
  try {
    await Deno.chmod(dir, 0o777);
    const script = `${dir}/probe.ts`;
    const src = sourceRootForTestUser();
    await Deno.writeTextFile(
      script,
      `import { CopyStorage } from "${src}/lib/storage/copy_dirs.ts";
import { silentLogger } from "${src}/lib/util/log.ts";
const s = await CopyStorage.open("${dir}/roots", silentLogger);
await s.ensureLayers(["sha256:${"1".repeat(64)}"], (d) => Deno.writeTextFile(d + "/f", "x"));
const snap = await s.prepare("u", { chain: ["sha256:${"1".repeat(64)}"] });
await s.commit("u");
console.log(JSON.stringify(await s.list()), snap.name);
`,
    );
    const r = await runAsTestUser([Deno.execPath(), "run", "-A", script]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /"names":\["u"\]/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
