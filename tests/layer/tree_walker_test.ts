import assert from "node:assert/strict";
import { type Change, walkChanges } from "../../lib/layer/tree_walker.ts";
import { fsOpsFor } from "../../lib/layer/fs_ops.ts";
import { encodeRootlessOwner, ROOTLESS_XATTR } from "../../lib/layer/rootless_owner.ts";
import { lsetxattr, mknod, S_IFCHR } from "../../lib/ffi/libc.ts";
import { silentLogger } from "../../lib/util/log.ts";
import { tempRoot } from "../_helpers/layer_root.ts";

async function all(it: AsyncIterable<Change>): Promise<Change[]> {
  const out: Change[] = [];
  for await (const c of it) out.push(c);
  return out;
}

Deno.test("walkChanges() of two trees: what differs, depth-first in name order, whiteouts, hardlinks", async () => {
  await using t = await tempRoot();
  const base = `${t.dir}/base`, root = t.rootfs;
  for (const d of [base, root]) {
    await Deno.mkdir(`${d}/etc/sub`, { recursive: true });
    await Deno.writeTextFile(`${d}/etc/same`, "s");
    await Deno.utime(`${d}/etc/same`, 10, 10);
    await Deno.utime(`${d}/etc/sub`, 10, 10);
    await Deno.utime(`${d}/etc`, 10, 10);
  }
  await Deno.writeTextFile(`${base}/gone`, "g");
  await Deno.writeTextFile(`${root}/etc/sub/new`, "n");
  await Deno.utime(`${root}/etc/sub`, 10, 10);
  await Deno.link(`${root}/etc/sub/new`, `${root}/z-link`);
  await Deno.writeTextFile(`${root}/a`, "a");
  const changes = await all(
    walkChanges({ kind: "trees", base, rootfs: root }, fsOpsFor(false), silentLogger),
  );
  assert.deepEqual(
    changes.map((c) => [c.name, c.hardlinkTo ?? (c.st ? "" : "whiteout")]),
    [["a", ""], ["etc/sub/new", ""], [".wh.gone", "whiteout"], ["z-link", "etc/sub/new"]],
  );
});

Deno.test("walkChanges() of an overlay upper: whiteout devices and opaque dirs become OCI whiteouts; rootless owners", async () => {
  await using t = await tempRoot();
  const up = t.rootfs;
  await Deno.mkdir(`${up}/o`);
  lsetxattr(`${up}/o`, "user.overlay.opaque", new Uint8Array([0x79]));
  mknod(`${up}/deleted`, S_IFCHR, 0, 0, 0);
  await Deno.writeTextFile(`${up}/owned`, "x");
  lsetxattr(`${up}/owned`, ROOTLESS_XATTR, encodeRootlessOwner(1000, 33));
  const rootless = await all(walkChanges({ kind: "overlay-upper", upper: up }, fsOpsFor(true), silentLogger));
  assert.deepEqual(rootless.map((c) => c.name), [".wh.deleted", "o/", "o/.wh..wh..opq", "owned"]);
  const owned = rootless.find((c) => c.name === "owned")!;
  assert.deepEqual([owned.uid, owned.gid, owned.xattrs?.has(ROOTLESS_XATTR)], [1000, 33, false]);
  const root = await all(walkChanges({ kind: "overlay-upper", upper: up }, fsOpsFor(false), silentLogger));
  assert.deepEqual([root.find((c) => c.name === "owned")!.uid], [0]);
});
