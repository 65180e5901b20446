/**
 * The `Storage` contract, run the same way against every backend through the interface alone (as
 * the build uses it): chains unpacked once, prepare → commit → built children, throw-away
 * snapshots, list, delete, gc and clean. Backends differ in how a snapshot looks (an overlay upper
 * or a tree pair), so files are read through `filesOf`, which is what the build's host view does.
 */
import assert from "node:assert/strict";
import { btrfsOps, CopyStorage } from "../../lib/storage/copy_dirs.ts";
import { OverlayStorage } from "../../lib/storage/overlay_dirs.ts";
import type { Snapshot, Storage } from "../../lib/storage/types.ts";
import { silentLogger } from "../../lib/util/log.ts";
import type { Digest } from "../../lib/oci/types.ts";
import { loopBtrfs } from "./_loop_btrfs.ts";

const d = (n: number) => `sha256:${String(n).padStart(64, "0")}` as Digest;
const isRoot = Deno.uid() === 0;

const BACKENDS: Record<string, (roots: string) => Promise<Storage>> = {
  copy: (roots) => CopyStorage.open(roots, silentLogger),
  overlay: (roots) => OverlayStorage.open(roots, silentLogger),
  btrfs: (roots) => CopyStorage.open(roots, silentLogger, btrfsOps),
};

/** The names of the files in a snapshot's whole rootfs (merged view for an overlay snapshot). */
async function filesOf(s: Storage, snap: Snapshot, scratch: string): Promise<string[]> {
  let dir: string;
  if (snap.diff.kind === "trees") {
    dir = snap.diff.rootfs;
  } else {
    assert.ok(s.materialize, "a backend with overlay snapshots can materialize them");
    dir = await Deno.makeTempDir({ dir: scratch });
    await Deno.remove(dir);
    await s.materialize(snap, dir);
  }
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
}

function writableDir(snap: Snapshot): string {
  return snap.diff.kind === "overlay-upper" ? snap.diff.upper : snap.diff.rootfs;
}

async function contract(open: (roots: string) => Promise<Storage>, parent?: string): Promise<void> {
  const dir = await Deno.makeTempDir({ dir: parent, prefix: "storage-contract-" });
  try {
    const s = await open(`${dir}/roots`);
    const calls: number[] = [];
    const unpack = async (into: string, _w: "overlay" | "apply", i: number) => {
      calls.push(i);
      await Deno.writeTextFile(`${into}/layer${i}`, `${i}\n`);
    };
    for (let n = 0; n < 3; n++) await s.ensureLayers([d(1), d(2)], unpack);
    assert.deepEqual(calls, [0, 1], "each layer of a chain is unpacked once");

    const a = await s.prepare("a", { chain: [d(1), d(2)] });
    assert.equal(a.name, "a");
    await Deno.writeTextFile(`${writableDir(a)}/own-a`, "a\n");
    await s.commit("a");
    assert.deepEqual((await s.list()).names, ["a"]);

    const child = await s.prepare("b", { built: "a" });
    assert.deepEqual(await filesOf(s, child, dir), ["layer0", "layer1", "own-a"]);
    await Deno.writeTextFile(`${writableDir(child)}/own-b`, "b\n");
    await s.commit("b");
    {
      await using tmp = await s.tempSnapshot("b");
      assert.deepEqual(await filesOf(s, tmp, dir), ["layer0", "layer1", "own-a", "own-b"]);
      await Deno.writeTextFile(`${writableDir(tmp)}/scribble`, "x\n");
    }
    const again = await s.tempSnapshot("b");
    assert.ok(!(await filesOf(s, again, dir)).includes("scribble"), "a throw-away snapshot changes nothing");
    await again[Symbol.asyncDispose]();

    const scratch = await s.prepare("c", { scratch: true });
    assert.deepEqual(await filesOf(s, scratch, dir), []);

    await s.delete("b");
    assert.deepEqual((await s.list()).names, ["a"]);
    const kept = await s.gc({ chains: [], names: ["a"] });
    assert.equal((await s.list()).names.length, 1, `gc kept "a" (removed ${kept.removed})`);
    assert.deepEqual(await filesOf(s, await s.prepare("a2", { built: "a" }), dir), [
      "layer0",
      "layer1",
      "own-a",
    ]);
    await s.gc({ chains: [], names: [] });
    assert.deepEqual((await s.list()).names, []);
    await s.clean();
    const left = (await Array.fromAsync(Deno.readDir(`${dir}/roots`))).map((e) => e.name);
    assert.deepEqual(left.filter((n) => !n.startsWith(".")), [], "clean leaves only the lock file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "every storage backend keeps the Storage contract, used through the interface only",
  // btrfs needs a loop mount; the overlay backend's merged view mounts in a private mount namespace
  ignore: !isRoot,
  fn: async (t) => {
    await using btrfs = await loopBtrfs();
    for (const [name, open] of Object.entries(BACKENDS)) {
      await t.step(name, () => contract(open, name === "btrfs" ? btrfs.mnt : undefined));
    }
  },
});
