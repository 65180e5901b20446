import assert from "node:assert/strict";
import { fsOpsFor } from "../../lib/layer/fs_ops.ts";
import type { InRootPath } from "../../lib/layer/_secure_join.ts";
import { ROOTLESS_XATTR } from "../../lib/layer/rootless_owner.ts";
import { lgetxattr } from "../../lib/ffi/libc.ts";
import { testUserIds } from "../../scripts/fixtures/mod.ts";
import { layerAsTestUser, tempRoot } from "../_helpers/layer_root.ts";

const at = (p: string) => p as InRootPath;

Deno.test("fsOpsFor(false) as root: chown and lchown, devices, the node's own owner when packing", async () => {
  await using t = await tempRoot();
  const ops = fsOpsFor(false);
  assert.equal(ops.rootless, false);
  const f = at(`${t.rootfs}/f`), l = at(`${t.rootfs}/l`);
  ops.createFile(f, 0o640).close();
  ops.symlink("f", l);
  assert.equal(ops.setOwner(f, 7, 8, false), undefined);
  assert.equal(ops.setOwner(l, 9, 10, true), undefined);
  const [fs, ls] = [await Deno.lstat(f), await Deno.lstat(l)];
  assert.deepEqual([fs.uid, fs.gid, fs.mode! & 0o777], [7, 8, 0o640 & ~Deno.umask()]);
  assert.deepEqual([ls.uid, ls.gid], [9, 10]); // the link itself, not its target
  assert.equal(ops.device(at(`${t.rootfs}/null`), "char", 1, 3), undefined);
  assert.equal((await Deno.lstat(`${t.rootfs}/null`)).rdev, 0x103);
  assert.deepEqual(ops.tarOwner(fs, undefined), { uid: 7, gid: 8 });
  // times of a symlink are its own
  ops.setTimes(l, 1000);
  assert.equal((await Deno.lstat(l)).mtime!.getTime(), 1000_000);
  assert.notEqual((await Deno.lstat(f)).mtime!.getTime(), 1000_000);
});

Deno.test("fsOpsFor(true): owners recorded in user.rootlesscontainers, devices skipped", async () => {
  await using t = await tempRoot();
  const ops = fsOpsFor(true);
  assert.equal(ops.rootless, true);
  const f = at(`${t.rootfs}/f`), l = at(`${t.rootfs}/l`);
  ops.createFile(f, 0o644).close();
  ops.symlink("f", l);
  assert.equal(ops.setOwner(f, 1000, 33, false), undefined);
  assert.equal(ops.setOwner(l, 1000, 33, true), undefined);
  const st = await Deno.lstat(f);
  assert.equal(st.uid, 0); // not chowned
  const recorded = lgetxattr(f, ROOTLESS_XATTR);
  assert.deepEqual(ops.tarOwner(st, recorded), { uid: 1000, gid: 33 });
  assert.deepEqual(ops.tarOwner(st, undefined), { uid: 0, gid: 0 });
  // 0:0 is what an unrecorded file stands for: nothing written
  ops.createFile(at(`${t.rootfs}/g`), 0o644).close();
  ops.setOwner(at(`${t.rootfs}/g`), 0, 0, false);
  assert.equal(lgetxattr(`${t.rootfs}/g`, ROOTLESS_XATTR), undefined);
  const skipped = ops.device(at(`${t.rootfs}/null`), "char", 1, 3);
  assert.match(skipped?.message ?? "", /without privilege/);
  assert.equal(ops.lstat(at(`${t.rootfs}/null`)), undefined);
});

Deno.test("FsOps.remove() as the test user removes a tree with mode-000 directories", async () => {
  const ids = await testUserIds();
  await using t = await tempRoot(ids);
  const res = await layerAsTestUser({ removeLocked: `${t.rootfs}/tree` });
  assert.deepEqual(res.out, { ok: true, before: true, after: false }, res.log);
  assert.ok(await t.outsideUntouched());
});
