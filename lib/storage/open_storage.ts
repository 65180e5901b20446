/**
 * Chooses the storage backend once: an explicit `--storage-type`, else what this stacker dir used
 * before (recorded in `<stackerDir>/storage.type`), else overlay. A different explicit choice than
 * the recorded one is refused, because the roots dir holds the other backend's state.
 */
import { StorageError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { atomicWriteFile } from "../oci/mod.ts";
import { btrfsOps, CopyStorage } from "./copy_dirs.ts";
import { filesystemType } from "./btrfs_loopback.ts";
import { OverlayStorage } from "./overlay_dirs.ts";

import type { Storage, StorageType } from "./types.ts";

export type { Storage, StorageType } from "./types.ts";

export interface OpenStorageOptions {
  readonly rootsDir: string;
  readonly stackerDir: string;
  readonly type?: StorageType;
  readonly log: Logger;
}

/** The storage type recorded in `stackerDir`, if any. */
export async function recordedStorageType(stackerDir: string): Promise<StorageType | undefined> {
  try {
    const t = (await Deno.readTextFile(`${stackerDir}/storage.type`)).trim();
    return t === "overlay" || t === "btrfs" || t === "copy" ? t : undefined;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

export async function openStorage(opts: OpenStorageOptions): Promise<Storage> {
  const recorded = await recordedStorageType(opts.stackerDir);
  if (opts.type && recorded && opts.type !== recorded) {
    throw new StorageError(
      `Cannot use storage type "${opts.type}": "${opts.stackerDir}" was used with "${recorded}" (run "stacker clean" first)`,
      { code: "storage.type-mismatch", context: { recorded, requested: opts.type } },
    );
  }
  const type = opts.type ?? recorded ?? "overlay";
  if (type === "btrfs") {
    await Deno.mkdir(opts.rootsDir, { recursive: true });
    const fs = await filesystemType(opts.rootsDir);
    if (fs !== "btrfs") {
      throw new StorageError(
        `Cannot use storage type "btrfs": roots dir "${opts.rootsDir}" is on "${fs}" (run "stacker unpriv-setup --storage-type btrfs" as root, or mount a btrfs there)`,
        { code: "storage.not-btrfs", context: { rootsDir: opts.rootsDir, filesystem: fs } },
      );
    }
  }
  if (!recorded) {
    await Deno.mkdir(opts.stackerDir, { recursive: true });
    await atomicWriteFile(`${opts.stackerDir}/storage.type`, new TextEncoder().encode(type + "\n"));
  }
  if (type === "btrfs") return await CopyStorage.open(opts.rootsDir, opts.log, btrfsOps);
  return type === "copy"
    ? await CopyStorage.open(opts.rootsDir, opts.log)
    : await OverlayStorage.open(opts.rootsDir, opts.log);
}
