/**
 * Many CLI processes, one OCI layout (issue 14): N builds of different stacker files with
 * different stacker dirs into one `--oci-dir`, started at once, with `stacker gc` of the same
 * layout running in a loop meanwhile and (in some runs) one build killed with SIGKILL midway. Every
 * build that exited 0 must have its tag resolve and pass umoci and skopeo, every blob must verify,
 * gc must never fail, and a killed build's temp files must go with the next gc. As root and as
 * the unprivileged test user. Layers are tiny (one dest import over busybox, no container run) so
 * 32 builds stay cheap.
 */
import assert from "node:assert/strict";
import { buildArgs, cli, dirsOf, makeScene, type Scene } from "./_cli_scene.ts";
import { checkLayout } from "./_layout_check.ts";

/** Runs `stacker gc` on the shared layout until `stop()` says so (at least once), asserting each exits 0. */
function gcLoop(scene: Scene, stop: () => boolean): Promise<number> {
  return (async () => {
    let runs = 0;
    do {
      const gc = await cli(scene, [...dirsOf(scene, "gc"), "gc"]);
      const st = await gc.child.status;
      assert.equal(st.code, 0, `gc failed: ${await gc.err.done}`);
      runs++;
    } while (!stop());
    return runs;
  })();
}

async function leftoverTemps(scene: Scene): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(`${scene.oci}/.stacker-tmp`))).map((e) => e.name);
  } catch {
    return [];
  }
}

async function concurrentBuilds(n: number, asUser: boolean, killOne: boolean): Promise<void> {
  await using scene = await makeScene(n, asUser);
  const builds = await Promise.all(Array.from({ length: n }, (_, i) => cli(scene, buildArgs(scene, i))));
  let finished = false;
  const gcs = gcLoop(scene, () => finished);
  if (killOne) {
    // midway: the build has its base and is about to write its layer into the shared layout
    await builds[0].err.waitFor(/cache miss because layer was not built before/);
    Deno.kill(-builds[0].child.pid, "SIGKILL");
  }
  const statuses = await Promise.all(builds.map((b) => b.child.status));
  finished = true;
  assert.ok((await gcs) >= 1);
  const written: string[] = [];
  for (let i = 0; i < n; i++) {
    if (killOne && i === 0) {
      assert.equal(statuses[0].signal, "SIGKILL");
      continue;
    }
    assert.equal(statuses[i].code, 0, `build ${i}: ${await builds[i].err.done}`);
    assert.match(await builds[i].err.done, new RegExp(`filesystem c${i} built successfully`));
    written.push(`c${i}`);
  }
  await checkLayout(scene.oci, written);
  // the last gc ran after every build ended: no temp file of a live or dead writer is left
  assert.deepEqual(await leftoverTemps(scene), []);
  if (killOne) {
    // the killed build's stacker dir lock went with it: the same build runs again, to success
    const again = await cli(scene, buildArgs(scene, 0));
    assert.equal((await again.child.status).code, 0, await again.err.done);
    await checkLayout(scene.oci, [...written, "c0"]);
  }
}

const rootOnly = Deno.uid() !== 0;

Deno.test({
  name: "8 concurrent builds into one layout, gc looping, one killed -9 midway: nothing reported lost (root)",
  ignore: rootOnly,
  fn: () => concurrentBuilds(8, false, true),
});

Deno.test({
  name:
    "32 concurrent builds into one layout with gc looping: every tag resolves, every blob verifies (root)",
  ignore: rootOnly,
  fn: () => concurrentBuilds(32, false, false),
});

Deno.test({
  name: "8 concurrent builds into one layout, gc looping, one killed -9 midway (test user)",
  ignore: rootOnly,
  fn: () => concurrentBuilds(8, true, true),
});

Deno.test({
  name: "32 concurrent builds into one layout with gc looping (test user)",
  ignore: rootOnly,
  fn: () => concurrentBuilds(32, true, false),
});
