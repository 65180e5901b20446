import assert from "node:assert/strict";
import { UnpackSession } from "../../lib/layer/unpack_session.ts";
import { LayerError } from "../../lib/util/errors.ts";
import { tempRoot } from "../_helpers/layer_root.ts";

Deno.test("UnpackSession.open() creates a missing root and refuses one that is not a directory", async () => {
  await using t = await tempRoot();
  const s = await UnpackSession.open(`${t.rootfs}/new/root`, false);
  assert.equal(s.ops.rootless, false);
  assert.ok((await Deno.lstat(`${t.rootfs}/new/root`)).isDirectory);
  await Deno.symlink(t.outside, `${t.rootfs}/link`);
  await assert.rejects(
    UnpackSession.open(`${t.rootfs}/link`, false),
    (e: LayerError) => e.code === "layer.root-type",
  );
  assert.equal((await UnpackSession.open(t.rootfs, true)).ops.rootless, true);
});

Deno.test("UnpackSession.finish() applies deferred directory metadata deepest first, skipping replaced dirs", async () => {
  await using t = await tempRoot();
  const s = await UnpackSession.open(t.rootfs, false);
  for (const rel of ["a", "a/b", "gone"]) {
    await Deno.mkdir(`${t.rootfs}/${rel}`);
    s.resolver.markDir(rel, true);
  }
  // a read-only parent: its child must still be changed first
  s.deferDir("a", 0o500, 100);
  s.deferDir("a/b", 0o750, 200);
  s.deferDir("gone", 0o700, 300);
  s.deferDir("", 0o711, 400);
  s.resolver.forget("gone");
  s.finish();
  const st = (rel: string) => Deno.lstatSync(rel === "" ? t.rootfs : `${t.rootfs}/${rel}`);
  assert.deepEqual([st("a").mode! & 0o7777, st("a").mtime!.getTime()], [0o500, 100_000]);
  assert.deepEqual([st("a/b").mode! & 0o7777, st("a/b").mtime!.getTime()], [0o750, 200_000]);
  assert.notEqual(st("gone").mtime!.getTime(), 300_000);
  assert.deepEqual([st("").mode! & 0o7777, st("").mtime!.getTime()], [0o711, 400_000]);
});
