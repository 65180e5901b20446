import assert from "node:assert/strict";
import { OverlayStorage } from "../../lib/storage/overlay_dirs.ts";
import { StorageError } from "../../lib/util/errors.ts";
import { memoryLogger } from "../../lib/util/log.ts";
import { mknod, S_IFCHR } from "../../lib/ffi/libc.ts";
import type { Digest } from "../../lib/oci/types.ts";
import { runAsTestUser, sourceRootForTestUser } from "../../scripts/fixtures/mod.ts";

const d = (n: number) => `sha256:${String(n).padStart(64, "0")}` as Digest;

async function withRoots(fn: (roots: string) => Promise<void>): Promise<void> {
  const roots = await Deno.makeTempDir({ prefix: "stacker-ts-overlay-" });
  try {
    await fn(roots);
  } finally {
    await Deno.remove(roots, { recursive: true });
  }
}

/** Layer 0 has a and gone/x; layer 1 whites out gone (an overlay 0/0 device) and adds b. */
async function unpack(dir: string, whiteouts: string, i: number): Promise<void> {
  assert.equal(whiteouts, "overlay");
  if (i === 0) {
    await Deno.writeTextFile(`${dir}/a`, "a");
    await Deno.mkdir(`${dir}/gone`);
    await Deno.writeTextFile(`${dir}/gone/x`, "x");
  } else {
    await Deno.writeTextFile(`${dir}/b`, "b");
    mknod(`${dir}/gone`, S_IFCHR, 0, 0, 0);
  }
}

Deno.test("OverlayStorage unpacks each layer once and stacks them top first for LXC", async () => {
  await withRoots(async (roots) => {
    const s = await OverlayStorage.open(roots, memoryLogger().log);
    let calls = 0;
    const counted = (dir: string, w: "overlay" | "apply", i: number) => (calls++, unpack(dir, w, i));
    for (let n = 0; n < 10; n++) await s.ensureLayers([d(1), d(2)], counted);
    assert.equal(calls, 2);
    const snap = await s.prepare("img", { chain: [d(1), d(2)] });
    assert.equal(snap.lxcRootfs.options, "userxattr");
    assert.equal(
      snap.lxcRootfs.path,
      `overlay:${s.layerDir(d(2))}:${s.layerDir(d(1))}:${roots}/work/img/upper`,
    );
    assert.deepEqual(snap.diff, { kind: "overlay-upper", upper: `${roots}/work/img/upper` });
    // spec §3.1: one extracted layer is roots/sha256_<hex>/overlay
    assert.equal(s.layerDir(d(1)), `${roots}/sha256_${"0".repeat(63)}1/overlay`);
    assert.equal(await Deno.readTextFile(`${roots}/sha256_${"0".repeat(63)}1/overlay/a`), "a");
    assert.deepEqual((await s.list()).layers, [`sha256_${"0".repeat(63)}1`, `sha256_${"0".repeat(63)}2`]);
  });
});

Deno.test("OverlayStorage: a built child stacks its parent's upper; materialize shows the merged tree", async () => {
  await withRoots(async (roots) => {
    const s = await OverlayStorage.open(roots, memoryLogger().log);
    await s.ensureLayers([d(1), d(2)], unpack);
    const p = await s.prepare("parent", { chain: [d(1), d(2)] });
    await Deno.writeTextFile(`${(p.diff as { upper: string }).upper}/from-parent`, "p");
    await s.commit("parent");
    const c = await s.prepare("child", { built: "parent" });
    assert.ok(c.lxcRootfs.path.includes(`${roots}/built/parent/upper:`));
    await using tmp = await s.tempSnapshot("parent");
    const out = `${roots}/view`;
    await s.materialize(tmp, out);
    const names = (await Array.fromAsync(Deno.readDir(out))).map((e) => e.name).sort();
    assert.deepEqual(names, ["a", "b", "from-parent"]); // "gone" is whited out
    await s.delete("parent");
    await assert.rejects(() => s.prepare("x", { built: "parent" }), StorageError);
  });
});

Deno.test("OverlayStorage gc keeps what a kept layer stands on and removes the rest", async () => {
  await withRoots(async (roots) => {
    const s = await OverlayStorage.open(roots, memoryLogger().log);
    await s.ensureLayers([d(1), d(2)], unpack);
    await s.ensureLayers([d(3)], (dir) => Deno.writeTextFile(`${dir}/c`, "c"));
    await s.prepare("p", { chain: [d(1), d(2)] });
    await s.commit("p");
    await s.prepare("c", { built: "p" });
    await s.commit("c");
    await s.prepare("other", { chain: [d(3)] });
    await s.commit("other");
    const r = await s.gc({ chains: [], names: ["c"] });
    assert.equal(r.removed, 2); // layer 3 and "other"
    assert.deepEqual((await s.list()).names, ["c", "p"]);
    assert.equal((await s.list()).layers.length, 2);
  });
});

Deno.test("OverlayStorage refuses roots dirs and names that would break the overlay option string", async () => {
  await assert.rejects(() => OverlayStorage.open("/tmp/a:b", memoryLogger().log), StorageError);
  await withRoots(async (roots) => {
    const s = await OverlayStorage.open(roots, memoryLogger().log);
    for (const bad of ["a:b", "a,b", "../x", ""]) {
      await assert.rejects(() => s.prepare(bad, { scratch: true }), StorageError);
    }
  });
});

Deno.test("OverlayStorage works for the unprivileged test user inside its user namespace", async () => {
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "stacker-ts-ov-user-" });
  try {
    await Deno.chmod(dir, 0o777);
    const src = sourceRootForTestUser();
    const script = `${dir}/probe.ts`;
    await Deno.writeTextFile(
      script,
      `import { OverlayStorage } from "${src}/lib/storage/overlay_dirs.ts";
import { mknod, S_IFCHR } from "${src}/lib/ffi/libc.ts";
import { silentLogger } from "${src}/lib/util/log.ts";
const s = await OverlayStorage.open("${dir}/roots", silentLogger);
const d1 = "sha256:${"1".repeat(64)}", d2 = "sha256:${"2".repeat(64)}";
await s.ensureLayers([d1, d2], async (dir, _w, i) => {
  if (i === 0) await Deno.writeTextFile(dir + "/old", "x");
  else mknod(dir + "/old", S_IFCHR, 0, 0, 0);
});
await s.prepare("u", { chain: [d1, d2] });
await s.commit("u");
await using snap = await s.tempSnapshot("u");
await s.materialize(snap, "${dir}/view");
console.log(JSON.stringify((await Array.fromAsync(Deno.readDir("${dir}/view"))).map((e) => e.name)));
`,
    );
    const ids = await (await import("../../scripts/fixtures/mod.ts")).testUserIds();
    const r = await runAsTestUser([
      "lxc-usernsexec",
      "-m",
      `u:0:${ids.uid}:1`,
      "-m",
      "u:1:100001:65535",
      "-m",
      `g:0:${ids.gid}:1`,
      "-m",
      "g:1:100001:65535",
      "--",
      Deno.execPath(),
      "run",
      "-A",
      script,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), "[]"); // the whiteout hides the lower file
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
