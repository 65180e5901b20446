import assert from "node:assert/strict";
import { checkName, exists, realDirs, swapIntoPlace } from "../../lib/storage/_dirs.ts";
import { StorageError } from "../../lib/util/errors.ts";

Deno.test("checkName() accepts one path component and refuses the backend's forbidden characters", () => {
  checkName("app-1.0");
  for (const bad of ["", ".", "..", "a/b", "a\0b", "a:b"]) {
    assert.throws(() => checkName(bad), StorageError, bad);
  }
  checkName("a,b");
  assert.throws(() => checkName("a,b", ":,"), StorageError);
});

Deno.test("swapIntoPlace() replaces a committed state and keeps the old one aside until removed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/work`);
    await Deno.writeTextFile(`${dir}/work/f`, "new");
    await Deno.mkdir(`${dir}/built`);
    await Deno.writeTextFile(`${dir}/built/f`, "old");
    await Deno.mkdir(`${dir}/aside`);
    await swapIntoPlace("x", `${dir}/work`, `${dir}/built`, `${dir}/aside`);
    assert.equal(await Deno.readTextFile(`${dir}/built/f`), "new");
    assert.equal(await Deno.readTextFile(`${dir}/aside/x/f`), "old");
    assert.equal(await exists(`${dir}/work`), false);
    await assert.rejects(
      () => swapIntoPlace("x", `${dir}/work`, `${dir}/built`, `${dir}/aside`),
      (e) => e instanceof StorageError && e.code === "storage.nothing-to-commit",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("realDirs() makes the backend's dirs and refuses one that is a symlink, leaving its target alone", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await realDirs(`${dir}/roots`, ["work", "tmp"]);
    assert.equal((await Deno.lstat(`${dir}/roots/tmp`)).isDirectory, true);
    await Deno.mkdir(`${dir}/elsewhere`);
    await Deno.remove(`${dir}/roots/tmp`);
    await Deno.symlink(`${dir}/elsewhere`, `${dir}/roots/tmp`);
    const e = await realDirs(`${dir}/roots`, ["work", "tmp"]).catch((x) => x);
    assert.ok(e instanceof StorageError);
    assert.equal(e.code, "storage.not-a-dir");
    assert.match(e.message, /roots\/tmp" is a symlink/);
    // the roots dir itself may be its owner's link
    await Deno.symlink(`${dir}/roots`, `${dir}/link`);
    await Deno.remove(`${dir}/roots/tmp`);
    await realDirs(`${dir}/link`, ["work", "tmp"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
