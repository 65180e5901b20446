import assert from "node:assert/strict";
import { resolveGlobals } from "../../lib/commands/_globals.ts";
import { StackerError } from "../../lib/util/errors.ts";

Deno.test("resolveGlobals() makes the default dirs absolute against the cwd", async () => {
  const g = await resolveGlobals({}, { HOME: "/nonexistent" }, "/work/x");
  assert.equal(g.stackerDir, "/work/x/.stacker");
  assert.equal(g.ociDir, "/work/x/oci");
  assert.equal(g.rootsDir, "/work/x/roots");
});

Deno.test("resolveGlobals() puts unset dirs under --work-dir and keeps explicit ones", async () => {
  const g = await resolveGlobals({ "work-dir": "w", "oci-dir": "/out" }, { HOME: "/nonexistent" }, "/c");
  assert.equal(g.stackerDir, "/c/w/.stacker");
  assert.equal(g.rootsDir, "/c/w/roots");
  assert.equal(g.ociDir, "/out");
});

Deno.test("resolveGlobals() reads the config file and lets explicit flags win", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/stacker`);
    await Deno.writeTextFile(`${dir}/stacker/conf.yaml`, "stacker_dir: /s\noci_dir: /o\nrootfs_dir: /r\n");
    const g = await resolveGlobals({ "oci-dir": "mine" }, { XDG_CONFIG_HOME: dir }, "/c");
    assert.equal(g.stackerDir, "/s");
    assert.equal(g.rootsDir, "/r");
    assert.equal(g.ociDir, "/c/mine");
    await Deno.writeTextFile(`${dir}/stacker/conf.yaml`, "stacker_dirr: /s\n");
    await assert.rejects(
      () => resolveGlobals({}, { XDG_CONFIG_HOME: dir }, "/c"),
      /unknown key "stacker_dirr"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resolveGlobals() refuses a roots dir with ':', a bad storage type and --debug with --quiet", async () => {
  const env = { HOME: "/nonexistent" };
  await assert.rejects(() => resolveGlobals({ "roots-dir": "/a:b" }, env, "/"), StackerError);
  await assert.rejects(() => resolveGlobals({ "storage-type": "zfs" }, env, "/"), /storage type "zfs"/);
  await assert.rejects(() => resolveGlobals({ debug: true, quiet: true }, env, "/"), /--debug and --quiet/);
});

Deno.test("resolveGlobals() lets the config file's dirs win over --work-dir, as stacker does", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/stacker`);
    await Deno.writeTextFile(`${dir}/stacker/conf.yaml`, "stacker_dir: /s\nwork_dir: /w\n");
    const env = { XDG_CONFIG_HOME: dir };
    const g = await resolveGlobals({}, env, "/c");
    assert.equal(g.stackerDir, "/s");
    assert.equal(g.ociDir, "/w/oci");
    assert.equal(g.rootsDir, "/w/roots");
    // an explicit --work-dir replaces the config's work_dir but not its stacker_dir
    const h = await resolveGlobals({ "work-dir": "x" }, env, "/c");
    assert.equal(h.stackerDir, "/s");
    assert.equal(h.ociDir, "/c/x/oci");
    // an explicit --stacker-dir wins over both
    const i = await resolveGlobals({ "work-dir": "x", "stacker-dir": "mine" }, env, "/c");
    assert.equal(i.stackerDir, "/c/mine");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resolveGlobals() cleans the dirs it makes absolute", async () => {
  const g = await resolveGlobals(
    { "work-dir": "../w/./", "oci-dir": "a//b/../o" },
    { HOME: "/nonexistent" },
    "/c/d",
  );
  assert.equal(g.workDir, "/c/w");
  assert.equal(g.stackerDir, "/c/w/.stacker");
  assert.equal(g.ociDir, "/c/d/a/o");
});
