import assert from "node:assert/strict";
import { openStorage, recordedStorageType } from "../../lib/storage/open_storage.ts";
import { CopyStorage } from "../../lib/storage/copy_dirs.ts";
import { OverlayStorage } from "../../lib/storage/overlay_dirs.ts";
import { StorageError } from "../../lib/util/errors.ts";
import { memoryLogger } from "../../lib/util/log.ts";

Deno.test("openStorage() defaults to overlay, records the choice and refuses a different one later", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const opts = { rootsDir: `${dir}/roots`, stackerDir: `${dir}/.stacker`, log: memoryLogger().log };
    assert.ok((await openStorage(opts)) instanceof OverlayStorage);
    assert.equal(await recordedStorageType(opts.stackerDir), "overlay");
    assert.ok((await openStorage({ ...opts, type: "overlay" })) instanceof OverlayStorage);
    await assert.rejects(
      () => openStorage({ ...opts, type: "copy" }),
      (e) => e instanceof StorageError && e.code === "storage.type-mismatch" && /"overlay"/.test(e.message),
    );
    const other = { ...opts, stackerDir: `${dir}/.stacker2`, rootsDir: `${dir}/roots2` };
    assert.ok((await openStorage({ ...other, type: "copy" })) instanceof CopyStorage);
    assert.ok((await openStorage(other)) instanceof CopyStorage);
    // btrfs needs a btrfs roots dir (the temp dir is not one here); nothing is recorded then
    await assert.rejects(
      () => openStorage({ ...opts, stackerDir: `${dir}/.s3`, type: "btrfs" }),
      (e) => e instanceof StorageError && e.code === "storage.not-btrfs",
    );
    assert.equal(await recordedStorageType(`${dir}/.s3`), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
