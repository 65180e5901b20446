import assert from "node:assert/strict";
import { statAt } from "../../lib/ffi/fs_at.ts";
import {
  controllerOf,
  createFileIn,
  ensureOwnedDir,
  openFileIn,
  openTrustedDir,
  splitLast,
} from "../../lib/storage/trusted_dirs.ts";
import { closeAt } from "../../lib/ffi/fs_at.ts";
import { O_RDONLY } from "../../lib/ffi/libc.ts";
import { StorageError } from "../../lib/util/errors.ts";

const isRoot = Deno.uid() === 0;

Deno.test("splitLast() splits a path into parent and name", () => {
  assert.deepEqual(splitLast("/a/b/"), { parent: "/a", name: "b" });
  assert.deepEqual(splitLast("roots"), { parent: ".", name: "roots" });
  assert.deepEqual(splitLast("/x"), { parent: "/", name: "x" });
  assert.throws(() => splitLast("/a/.."), StorageError);
});

Deno.test({
  name: "openTrustedDir() follows root's symlinks, refuses other users' and creates what is missing",
  ignore: !isRoot,
  fn: async () => {
    const dir = await Deno.makeTempDir({ dir: "/var/tmp" });
    try {
      await Deno.chmod(dir, 0o755);
      await Deno.mkdir(`${dir}/real/deep`, { recursive: true });
      await Deno.symlink("real", `${dir}/rootlink`);
      using a = openTrustedDir(`${dir}/rootlink/deep/new/er`, { create: true });
      assert.equal(statAt(a.fd, "").kind, "dir");
      assert.equal((await Deno.stat(`${dir}/real/deep/new/er`)).isDirectory, true);

      await Deno.mkdir(`${dir}/user`);
      await Deno.symlink("/etc", `${dir}/user/etc`);
      await new Deno.Command("chown", { args: ["-R", "-h", "4242:4242", `${dir}/user`] }).output();
      const e = (() => {
        try {
          openTrustedDir(`${dir}/user/etc`);
        } catch (x) {
          return x;
        }
      })();
      assert.ok(e instanceof StorageError);
      assert.equal(e.code, "storage.untrusted-path");
      assert.match(e.message, /"etc" is a symlink another user can change \(owned by uid 4242\)/);
      // a root-owned link in a user's directory: the user could swap it, so it is refused too
      await Deno.symlink("/etc", `${dir}/user/etc2`);
      assert.throws(() => openTrustedDir(`${dir}/user/etc2`), /symlink another user can change/);
      await Deno.writeTextFile(`${dir}/file`, "x");
      assert.throws(() => openTrustedDir(`${dir}/file/x`), /"file" is not a directory/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "ensureOwnedDir() hands over a new or root-owned dir, refuses links and foreign dirs; files O_EXCL",
  ignore: !isRoot,
  fn: async () => {
    const dir = await Deno.makeTempDir({ dir: "/var/tmp" });
    try {
      using parent = openTrustedDir(dir);
      using made = ensureOwnedDir(parent, "new", { uid: 4321, gid: 4322 });
      const st = await Deno.stat(`${dir}/new`);
      assert.deepEqual([st.uid, st.gid, st.mode! & 0o777], [4321, 4322, 0o755]);
      ensureOwnedDir(parent, "new", { uid: 4321, gid: 4322 })[Symbol.dispose](); // again: fine
      await Deno.mkdir(`${dir}/elses`);
      await Deno.chown(`${dir}/elses`, 555, 555);
      assert.throws(() => ensureOwnedDir(parent, "elses", { uid: 4321, gid: 1 }), /belongs to uid 555/);
      await Deno.symlink("/etc", `${dir}/link`);
      assert.throws(() => ensureOwnedDir(parent, "link", { uid: 4321, gid: 1 }), /it is a symlink/);
      assert.equal((await Deno.stat("/etc")).uid, 0);

      const fd = createFileIn(made, "f", 0o600);
      closeAt(fd);
      assert.throws(() => createFileIn(made, "f", 0o600), /File exists/);
      await Deno.symlink("/etc/passwd", `${dir}/new/l`);
      assert.throws(() => createFileIn(made, "l", 0o600), /File exists/);
      assert.throws(() => openFileIn(made, "l", O_RDONLY), /it is a symlink, not a regular file/);
      assert.equal(openFileIn(made, "missing", O_RDONLY), undefined);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "controllerOf() names who besides root can change a path: a dir's owner, a sticky entry's, anyone",
  ignore: !isRoot,
  fn: async () => {
    const dir = await Deno.makeTempDir({ dir: "/var/tmp" });
    try {
      await Deno.chmod(dir, 0o755);
      assert.equal(controllerOf(`${dir}/missing/deeper`), undefined, "root's all the way");
      await Deno.mkdir(`${dir}/user/roots`, { recursive: true });
      await Deno.chown(`${dir}/user`, 4242, 4242);
      assert.deepEqual(controllerOf(`${dir}/user/roots`), { uid: 4242, path: `${dir}/user` });
      await Deno.mkdir(`${dir}/own`);
      await Deno.chown(`${dir}/own`, 4343, 4343);
      assert.deepEqual(controllerOf(`${dir}/own`), { uid: 4343, path: `${dir}/own` });
      await Deno.mkdir(`${dir}/shared`, { mode: 0o777 });
      await Deno.chmod(`${dir}/shared`, 0o777);
      assert.deepEqual(controllerOf(`${dir}/shared/x`), { uid: -1, path: `${dir}/shared` });
      // sticky: root's entries are root's; a missing name is anyone's
      await Deno.chmod(`${dir}/shared`, 0o1777);
      await Deno.mkdir(`${dir}/shared/rootdir`);
      assert.equal(controllerOf(`${dir}/shared/rootdir`), undefined);
      assert.deepEqual(controllerOf(`${dir}/shared/nothere`), { uid: -1, path: `${dir}/shared` });
      // a link root placed is followed to what it names
      await Deno.symlink(`${dir}/user`, `${dir}/tolink`);
      assert.deepEqual(controllerOf(`${dir}/tolink/roots`), { uid: 4242, path: `${dir}/user` });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
