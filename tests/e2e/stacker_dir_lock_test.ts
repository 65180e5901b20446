/**
 * Two stackers on one `--stacker-dir` through the CLI (issue 14, issue 15 item 7): the second waits
 * for the first, printing "waiting for lock held by pid N", and builds once the lock is free;
 * `--lock-timeout 0` fails at once as stacker does; a `.stacker/.lock` left by root does not block
 * the unprivileged user who owns the rest of the stacker dir. As root and as the test user.
 */
import assert from "node:assert/strict";
import { acquireFileLock } from "../../lib/oci/mod.ts";
import { buildArgs, cli, makeScene } from "./_cli_scene.ts";
import { checkLayout } from "./_layout_check.ts";

const rootOnly = Deno.uid() !== 0;

async function waitsForTheHolder(asUser: boolean): Promise<void> {
  await using scene = await makeScene(1, asUser);
  // the holder: this test process, on the stacker dir (the scene owner's) the build is about to use
  const owner = await Deno.stat(scene.dir);
  await Deno.mkdir(`${scene.dir}/s-0`);
  await Deno.chown(`${scene.dir}/s-0`, owner.uid, owner.gid);
  const held = await acquireFileLock(`${scene.dir}/s-0/.lock`, { what: "test" });
  const build = await cli(scene, buildArgs(scene, 0));
  await build.err.waitFor(
    new RegExp(`waiting for lock held by pid ${Deno.pid} \\(.*\\) on ${scene.dir}/s-0/\\.lock`),
  );
  held.release();
  assert.equal((await build.child.status).code, 0, await build.err.done);
  await checkLayout(scene.oci, ["c0"]);
  // with --lock-timeout 0 a busy lock fails at once, with stacker's words
  await using _again = await acquireFileLock(`${scene.dir}/s-0/.lock`, { what: "test" });
  const fast = await cli(scene, ["--lock-timeout", "0", ...buildArgs(scene, 0)]);
  assert.notEqual((await fast.child.status).code, 0);
  assert.match(
    await fast.err.done,
    new RegExp(`couldn't acquire lock on ${scene.dir}/s-0/\\.lock: lock owned by pid ${Deno.pid}`),
  );
}

Deno.test({
  name: "a second stacker on one --stacker-dir waits, saying for whom, then builds (root)",
  ignore: rootOnly,
  fn: () => waitsForTheHolder(false),
});

Deno.test({
  name: "a second stacker on one --stacker-dir waits, saying for whom, then builds (test user)",
  ignore: rootOnly,
  fn: () => waitsForTheHolder(true),
});

Deno.test({
  name: "a .lock root left in the user's stacker and roots dirs does not block the user's build",
  ignore: rootOnly,
  fn: async () => {
    await using scene = await makeScene(1, true);
    const owner = await Deno.stat(scene.dir);
    for (const d of ["s-0", "r-0"]) {
      await Deno.mkdir(`${scene.dir}/${d}`);
      await Deno.chown(`${scene.dir}/${d}`, owner.uid, owner.gid);
      await Deno.writeTextFile(`${scene.dir}/${d}/.lock`, "", { mode: 0o644 }); // root's
    }
    const build = await cli(scene, buildArgs(scene, 0));
    assert.equal((await build.child.status).code, 0, await build.err.done);
    await checkLayout(scene.oci, ["c0"]);
    assert.equal((await Deno.stat(`${scene.dir}/s-0/.lock`)).uid, 0);
  },
});
