import assert from "node:assert/strict";
import { LayerApplier } from "../../lib/layer/layer_applier.ts";
import { UnpackSession } from "../../lib/layer/unpack_session.ts";
import { TarReader } from "../../lib/layer/_tar_reader.ts";
import { lgetxattr } from "../../lib/ffi/libc.ts";
import { memoryLogger } from "../../lib/util/log.ts";
import { opener, type RawEntry, tarOf } from "../_helpers/layer_tar.ts";
import { tempRoot } from "../_helpers/layer_root.ts";

/** Applies `entries` as one layer straight through a LayerApplier; returns it and the log lines. */
async function applyAll(
  rootfs: string,
  entries: RawEntry[],
  opts: { whiteouts?: "apply" | "overlay"; rootless?: boolean } = {},
) {
  const session = await UnpackSession.open(rootfs, opts.rootless ?? false);
  const { log, lines } = memoryLogger("warn");
  const applier = new LayerApplier(session, {
    whiteouts: opts.whiteouts ?? "apply",
    digest: "sha256:l",
    log,
  });
  const reader = new TarReader(opener(tarOf(entries))());
  for (let e; (e = await reader.next()) !== null;) await applier.apply(e, reader);
  session.finish();
  return { applier, lines };
}

Deno.test("LayerApplier replaces whatever is at a name, never writing through it", async () => {
  await using t = await tempRoot();
  await Deno.symlink(t.canary, `${t.rootfs}/link`);
  await Deno.mkdir(`${t.rootfs}/dir/sub`, { recursive: true });
  await applyAll(t.rootfs, [
    { path: "link", body: "new" },
    { path: "dir", body: "now a file" },
    { path: "file", body: "x", mode: 0o4755, mtime: 1234 },
  ]);
  assert.ok(await t.outsideUntouched());
  assert.equal(await Deno.readTextFile(`${t.rootfs}/link`), "new");
  assert.equal(await Deno.readTextFile(`${t.rootfs}/dir`), "now a file");
  const st = await Deno.lstat(`${t.rootfs}/file`);
  assert.deepEqual([st.mode! & 0o7777, st.mtime!.getTime()], [0o4755, 1234_000]);
});

Deno.test("LayerApplier escapes overlay xattrs, drops SELinux labels, and warns once per layer for an unsettable xattr", async () => {
  await using t = await tempRoot();
  const { lines } = await applyAll(t.rootfs, [
    {
      path: "f",
      body: "x",
      pax: {
        "SCHILY.xattr.user.overlay.opaque": "y",
        "SCHILY.xattr.security.selinux": "system_u:object_r:bin_t:s0",
        "SCHILY.xattr.bogus.name": "1",
      },
    },
    { path: "g", body: "x", pax: { "SCHILY.xattr.bogus.name": "1" } },
  ]);
  assert.equal(lgetxattr(`${t.rootfs}/f`, "user.overlay.opaque"), undefined);
  assert.deepEqual(lgetxattr(`${t.rootfs}/f`, "user.overlay.overlay.opaque"), new TextEncoder().encode("y"));
  assert.equal(lines.filter((l) => l.includes('Cannot set xattr "bogus.name"')).length, 1, lines.join("\n"));
});

Deno.test("LayerApplier in overlay mode: whiteouts for lower names, none for its own, opaque marker", async () => {
  await using t = await tempRoot();
  await Deno.writeTextFile(`${t.rootfs}/lower`, "x");
  await applyAll(t.rootfs, [
    { path: "mine", body: "x" },
    { path: ".wh.mine" },
    { path: ".wh.lower" },
    { path: "o/.wh..wh..opq" },
  ], { whiteouts: "overlay" });
  assert.equal(await Deno.readTextFile(`${t.rootfs}/mine`), "x");
  const st = await Deno.lstat(`${t.rootfs}/lower`);
  assert.ok(st.isCharDevice && st.rdev === 0);
  assert.deepEqual(lgetxattr(`${t.rootfs}/o`, "user.overlay.opaque"), new TextEncoder().encode("y"));
});

Deno.test("LayerApplier counts devices its FsOps leaves out and warns once", async () => {
  await using t = await tempRoot();
  const { applier, lines } = await applyAll(t.rootfs, [
    { path: "dev/null", type: "char", major: 1, minor: 3 },
    { path: "dev/zero", type: "char", major: 1, minor: 5 },
  ], { rootless: true });
  assert.equal(applier.skippedDevices, 2);
  assert.equal(lines.filter((l) => l.includes("Skipping device nodes")).length, 1);
});
