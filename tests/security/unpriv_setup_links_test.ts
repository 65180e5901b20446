/**
 * `sudo stacker unpriv-setup` runs as root in a directory the user controls: nothing the user
 * planted there (a `roots` symlink to a root-owned dir, a symlinked parent, someone else's dir)
 * may make root chown, create or format anything outside what it sets up.
 */
import assert from "node:assert/strict";
import { testUserIds } from "../../scripts/fixtures/mod.ts";
import { chownTree, projectDir, stackerAs } from "./_project.ts";

const isRoot = Deno.uid() === 0;

async function setupIn(dir: string, extra: string[] = []) {
  const ids = await testUserIds();
  return await stackerAs("root", dir, [
    ...extra,
    "unpriv-setup",
    "--uid",
    `${ids.uid}`,
    "--gid",
    `${ids.gid}`,
    "--username",
    "builder",
  ]);
}

Deno.test({
  name: "unpriv-setup refuses a roots symlink the user planted and chowns nothing through it",
  ignore: !isRoot,
  fn: async () => {
    await using victimDir = await projectDir("root", "victim");
    const victim = victimDir.path;
    for (const storage of [[], ["--storage-type", "btrfs"]]) {
      await using p = await projectDir("builder", "usetup-roots");
      await Deno.symlink(victim, `${p.path}/roots`);
      await chownTree(p.path, "builder");
      const r = await setupIn(p.path, storage);
      assert.notEqual(r.code, 0, `${storage}: ${r.stdout}`);
      assert.match(r.stderr, /roots": it is a symlink/);
      assert.equal((await Deno.stat(victim)).uid, 0, "the link's target stays root's");
      assert.equal(await Deno.readTextFile("/proc/self/mounts").then((m) => m.includes(victim)), false);
    }
  },
});

Deno.test({
  name: "unpriv-setup refuses a roots dir of a third user and a parent symlink the user planted",
  ignore: !isRoot,
  fn: async () => {
    await using p = await projectDir("builder", "usetup-foreign");
    await Deno.mkdir(`${p.path}/roots`);
    await Deno.chown(`${p.path}/roots`, 4242, 4242);
    const r = await setupIn(p.path);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /roots": it belongs to uid 4242, neither root nor uid \d+/);
    assert.equal((await Deno.stat(`${p.path}/roots`)).uid, 4242);

    // proj -> a root-owned dir: the user controls the link, so root does not follow it.
    await using victimDir = await projectDir("root", "victim2");
    await using q = await projectDir("builder", "usetup-parent");
    await Deno.symlink(victimDir.path, `${q.path}/proj`);
    await chownTree(q.path, "builder");
    const s = await stackerAs("root", "/", [
      "--stacker-dir",
      `${q.path}/proj/.stacker`,
      "--roots-dir",
      `${q.path}/proj/roots`,
      "unpriv-setup",
      "--uid",
      "1001",
      "--username",
      "builder",
    ]);
    assert.notEqual(s.code, 0);
    assert.match(s.stderr, /"proj" is a symlink another user can change/);
    assert.deepEqual(await Array.fromAsync(Deno.readDir(victimDir.path)), []);
  },
});
