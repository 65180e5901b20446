/**
 * Guarantee 10 for the pipeline: a build killed with SIGKILL in the middle of a run leaves the stacker
 * dir, the cache and the output tags usable, and rerunning the same build succeeds with no cleanup.
 * Root only (the host-tool services chroot).
 */
import assert from "node:assert/strict";
import { busyboxLayout } from "../../scripts/fixtures/mod.ts";
import type { LayerDefinition } from "../../lib/builder/types.ts";
import { lockDir } from "../../lib/builder/lock.ts";
import { OciLayout } from "../../lib/oci/mod.ts";
import { watchOutput } from "../_helpers/output_watch.ts";

const helper = new URL("./_helpers/run_build.ts", import.meta.url).pathname;

function spawnBuild(dir: string, defs: LayerDefinition[], lockTimeoutMs?: number) {
  // setsid: the build and everything it starts share one process group the test can kill at once.
  return new Deno.Command("setsid", {
    args: [
      Deno.execPath(),
      "run",
      "-A",
      "--cached-only",
      helper,
      JSON.stringify({ dir, defs, env: {}, lockTimeoutMs }),
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function waitFor(path: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await Deno.lstat(path).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${path}`);
}

Deno.test({
  name: "a build killed with SIGKILL mid-run is rerun to success with no manual cleanup",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const bb = await busyboxLayout();
    const dir = await Deno.makeTempDir({ prefix: "recovery-" });
    try {
      const base = `${bb.dir}:${bb.tag}`;
      const good: LayerDefinition[] = [
        { name: "one", from: { type: "oci", url: base }, run: "echo 1 > /one" },
        { name: "two", from: { type: "built", tag: "one" }, run: "echo 2 > /two" },
      ];
      const first = await spawnBuild(dir, good).output();
      assert.ok(first.success, new TextDecoder().decode(first.stderr));
      const layout = await OciLayout.open(`${dir}/oci`);
      const before = await layout.resolve("two");

      // Change "two" so it rebuilds, and kill the whole build while its run sleeps.
      const slow = [good[0], { ...good[1], run: "echo started > /started\nsleep 60\necho 3 > /two" }];
      const child = spawnBuild(dir, slow);
      await waitFor(`${dir}/roots/work/two/upper/started`, 30_000);
      Deno.kill(-child.pid, "SIGKILL");
      await child.output();

      assert.deepEqual(await layout.resolve("two"), before, "the old tag survives the kill");
      await using held = await lockDir(`${dir}/stacker`); // the kernel dropped the dead build's lock
      held.release();

      const fixed = [good[0], { ...good[1], run: "echo 3 > /two" }];
      const rerun = await spawnBuild(dir, fixed).output();
      const out = new TextDecoder().decode(rerun.stdout);
      assert.ok(rerun.success, new TextDecoder().decode(rerun.stderr));
      assert.deepEqual(JSON.parse(out), [["one", true], ["two", false]]);
      assert.notEqual((await layout.resolve("two"))?.digest, before?.digest);
      const leftovers = (await Array.fromAsync(Deno.readDir(`${dir}/stacker`))).map((e) => e.name)
        .filter((n) => n.startsWith(".empty-") || n.startsWith(".overlay-"));
      assert.deepEqual(leftovers, []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a second build on a locked stacker dir waits, naming the holder, and builds once it is free",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "locked-" });
    try {
      const held = await lockDir(`${dir}/stacker`);
      const child = spawnBuild(dir, [{ name: "x", from: { type: "scratch" } }]);
      const err = watchOutput(child.stderr);
      const out = watchOutput(child.stdout);
      await err.waitFor(
        new RegExp(`waiting for lock held by pid ${Deno.pid} \\(.*\\) on ${dir}/stacker/\\.lock`),
      );
      held.release();
      const st = await child.status;
      assert.equal(st.success, true, await err.done);
      assert.deepEqual(JSON.parse(await out.done), [["x", false]]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "with lockTimeoutMs 0 a second build on a locked stacker dir fails at once naming the holder",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "locked-" });
    try {
      await using _held = await lockDir(`${dir}/stacker`);
      const r = await spawnBuild(dir, [{ name: "x", from: { type: "scratch" } }], 0).output();
      assert.equal(r.success, false);
      assert.match(
        new TextDecoder().decode(r.stderr),
        new RegExp(`couldn't acquire lock on ${dir}/stacker/\\.lock: lock owned by pid ${Deno.pid}`),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
