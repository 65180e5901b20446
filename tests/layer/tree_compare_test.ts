import assert from "node:assert/strict";
import { differs, readXattrs, typeOf } from "../../lib/layer/tree_compare.ts";
import { lsetxattr } from "../../lib/ffi/libc.ts";
import { tempRoot } from "../_helpers/layer_root.ts";

Deno.test("differs() looks at content only when metadata cannot tell", async () => {
  await using t = await tempRoot();
  const a = `${t.rootfs}/a`, b = `${t.rootfs}/b`;
  const pair = async (x: string, y: string, touch = true) => {
    await Deno.writeTextFile(a, x);
    await Deno.writeTextFile(b, y);
    await Deno.utime(a, 100, 100);
    if (touch) await Deno.utime(b, 200, 200);
    else await Deno.utime(b, 100, 100);
    return await differs(a, await Deno.lstat(a), b, await Deno.lstat(b));
  };
  assert.equal(await pair("same", "same"), false, "an mtime-only change is not a change");
  assert.equal(await pair("same", "diff"), true, "same size, other bytes");
  assert.equal(await pair("same", "longer"), true);
  assert.equal(await pair("same", "diff", false), false, "same size and mtime: trusted unchanged");
  await Deno.chmod(b, 0o600);
  await Deno.writeTextFile(b, "same");
  await Deno.utime(b, 100, 100);
  assert.equal(await differs(a, await Deno.lstat(a), b, await Deno.lstat(b)), true, "mode");
  await Deno.chmod(b, (await Deno.lstat(a)).mode! & 0o777);
  lsetxattr(b, "user.k", new Uint8Array([1]));
  assert.equal(await differs(a, await Deno.lstat(a), b, await Deno.lstat(b)), true, "xattr");
});

Deno.test("readXattrs() leaves out overlay's own xattrs and SELinux labels; typeOf() names tar types", async () => {
  await using t = await tempRoot();
  const f = `${t.rootfs}/f`;
  await Deno.writeTextFile(f, "");
  lsetxattr(f, "user.b", new Uint8Array([2]));
  lsetxattr(f, "user.a", new Uint8Array([1]));
  lsetxattr(f, "user.overlay.opaque", new Uint8Array([0x79]));
  assert.deepEqual([...readXattrs(f).keys()], ["user.a", "user.b"]);
  await Deno.symlink("f", `${t.rootfs}/l`);
  assert.deepEqual(
    [
      typeOf(await Deno.lstat(f)),
      typeOf(await Deno.lstat(`${t.rootfs}/l`)),
      typeOf(await Deno.lstat(t.rootfs)),
    ],
    ["file", "symlink", "dir"],
  );
});
