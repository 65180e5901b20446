import assert from "node:assert/strict";
import { storageRequirements } from "../../lib/storage/requirements.ts";
import { loopBtrfs } from "./_loop_btrfs.ts";

Deno.test("storageRequirements names the roots dir filesystem and what each backend needs", async (t) => {
  await t.step("tmpfs: copy only (no reflinks), btrfs needs unpriv-setup", async () => {
    const dir = await Deno.makeTempDir({ dir: "/dev/shm" });
    try {
      const r = await storageRequirements(`${dir}/not/yet/roots`);
      assert.equal(r.filesystem, "tmpfs");
      const by = Object.fromEntries(r.backends.map((b) => [b.type, b]));
      assert.equal(by.btrfs.ok, false);
      assert.match(by.btrfs.detail, /unpriv-setup --storage-type btrfs/);
      assert.equal(by.copy.ok, true);
      assert.match(by.copy.detail, /no reflinks/);
      assert.equal(by.overlay.ok, true);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
  await t.step("btrfs: every backend works, copy uses reflinks", async () => {
    await using fs = await loopBtrfs();
    const r = await storageRequirements(fs.mnt);
    assert.equal(r.filesystem, "btrfs");
    assert.ok(r.backends.every((b) => b.ok));
    assert.match(r.backends.find((b) => b.type === "copy")!.detail, /reflink/);
  });
});
