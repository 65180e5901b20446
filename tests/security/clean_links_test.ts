/**
 * `clean` and `build` work in a project directory someone else may control: a `roots/tmp` symlink
 * planted there must not turn the backend's "empty tmp" into deleting the link's target. Removal
 * never follows a link below the dirs stacker owns; root in another user's project cleans as that
 * user and refuses to build.
 */
import assert from "node:assert/strict";
import { chownTree, projectDir, stackerAs, WHO } from "./_project.ts";

async function plantedProject(path: string, victim: string): Promise<void> {
  await Deno.mkdir(`${path}/.stacker`);
  await Deno.writeTextFile(`${path}/.stacker/storage.type`, "overlay\n");
  await Deno.mkdir(`${path}/roots`);
  await Deno.symlink(victim, `${path}/roots/tmp`);
  await Deno.writeTextFile(`${path}/stacker.yaml`, "t:\n  from:\n    type: scratch\n");
}

async function victimDir(owner: "root" | "builder") {
  const v = await projectDir(owner, "clean-victim");
  await Deno.mkdir(`${v.path}/keep`);
  await Deno.writeTextFile(`${v.path}/keep/file`, "precious\n");
  await chownTree(v.path, owner);
  return v;
}

for (const who of WHO) {
  Deno.test(`clean and build never delete through a planted roots/tmp symlink (${who}, builder's project)`, async () => {
    await using victim = await victimDir(who);
    await using p = await projectDir("builder", "clean-links");
    await plantedProject(p.path, victim.path);
    await chownTree(p.path, "builder");

    const b = await stackerAs(who, p.path, ["build"]);
    assert.notEqual(b.code, 0, "a build on a planted roots dir is refused");
    assert.match(
      b.stderr,
      who === "root"
        ? /Cannot run "build" as root here: ".*" belongs to uid \d+/
        : /roots\/tmp" is a symlink/,
    );
    assert.equal(await Deno.readTextFile(`${victim.path}/keep/file`), "precious\n");

    const c = await stackerAs(who, p.path, ["clean"]);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(
      await Deno.readTextFile(`${victim.path}/keep/file`),
      "precious\n",
      "the target is untouched",
    );
    const left = (await Array.fromAsync(Deno.readDir(p.path))).map((e) => e.name);
    assert.deepEqual(left, ["stacker.yaml"], "the project is clean, the link removed");
    for await (const e of Deno.readDir(p.path)) {
      assert.equal((await Deno.lstat(`${p.path}/${e.name}`)).uid, (await Deno.stat(p.path)).uid);
    }
  });
}
