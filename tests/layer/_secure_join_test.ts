import assert from "node:assert/strict";
import { RootResolver, splitName } from "../../lib/layer/_secure_join.ts";
import { LayerError } from "../../lib/util/errors.ts";
import { tempRoot } from "../_helpers/layer_root.ts";

Deno.test("splitName() roots names and refuses '..'", () => {
  assert.deepEqual(splitName("./a//b/./c/"), ["a", "b", "c"]);
  assert.deepEqual(splitName("/etc/passwd"), ["etc", "passwd"]);
  assert.deepEqual(splitName("./"), []);
  for (const bad of ["..", "a/../b", "../x", "a/.."]) {
    assert.throws(() => splitName(bad), (e: LayerError) => e.code === "layer.unsafe-name", bad);
  }
  assert.throws(() => splitName(""), (e: LayerError) => e.code === "layer.bad-name");
});

Deno.test("RootResolver.dir() follows symlinks with chroot semantics", async () => {
  await using t = await tempRoot();
  const root = t.rootfs;
  await Deno.mkdir(`${root}/real/sub`, { recursive: true });
  await Deno.symlink(t.outside, `${root}/abs`); // absolute: re-rooted
  await Deno.symlink("../../../../../../..", `${root}/up`); // climbs: clamped at the root
  await Deno.symlink("real/sub", `${root}/rel`);
  await Deno.symlink("loop2", `${root}/loop1`);
  await Deno.symlink("loop1", `${root}/loop2`);
  await Deno.writeTextFile(`${root}/file`, "");
  const r = new RootResolver(root);
  assert.equal(r.dir(["rel"], false, "rel"), "real/sub");
  assert.equal(r.dir(["up", "real"], false, "up/real"), "real");
  assert.equal(r.dir(["abs"], false, "abs"), undefined); // not inside the root
  const created = r.dir(["abs", "x"], true, "abs/x");
  assert.equal(created, `${t.outside.slice(1)}/x`);
  assert.equal((await Deno.lstat(`${root}/${created}`)).isDirectory, true);
  assert.ok(await t.outsideUntouched());
  assert.throws(() => r.dir(["loop1"], false, "loop1"), (e: LayerError) => e.code === "layer.symlink-loop");
  assert.throws(() => r.dir(["file", "x"], true, "file/x"), (e: LayerError) => e.code === "layer.not-a-dir");
});

Deno.test("RootResolver.forget() drops cached directories under a removed path", async () => {
  await using t = await tempRoot();
  const r = new RootResolver(t.rootfs);
  r.dir(["a", "b"], true, "a/b");
  assert.ok(r.isKnownDir("a/b") && r.isFresh("a"));
  r.forget("a");
  assert.ok(!r.isKnownDir("a/b") && !r.isKnownDir("a") && !r.isFresh("a"));
  assert.ok(r.isKnownDir(""));
});

Deno.test("RootResolver.leaf() resolves the parents of a name but not the name itself", async () => {
  await using t = await tempRoot();
  const r = new RootResolver(t.rootfs);
  await Deno.mkdir(`${t.rootfs}/real`);
  await Deno.symlink("real", `${t.rootfs}/dir`);
  await Deno.symlink(t.outside, `${t.rootfs}/out`);
  assert.deepEqual(r.leaf("/dir/x", false), { rel: "real/x", host: `${t.rootfs}/real/x` });
  // the last component is named, never followed: a symlink there is what gets replaced
  assert.deepEqual(r.leaf("out", false), { rel: "out", host: `${t.rootfs}/out` });
  assert.equal(r.leaf("missing/x", false), undefined);
  assert.equal(r.leaf("./", true), undefined);
  assert.deepEqual(r.leaf("out/new/x", true)?.rel, `${t.outside.slice(1)}/new/x`);
  assert.ok(await t.outsideUntouched());
  assert.throws(() => r.leaf("a/../../x", true), (e: LayerError) => e.code === "layer.unsafe-name");
});
