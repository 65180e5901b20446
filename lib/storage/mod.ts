/**
 * Where root filesystems live between stages: `openStorage` picks a backend (overlay by default, btrfs
 * or copy), and every backend implements `Storage` (types.ts): ensureLayers (each base layer
 * unpacked once), prepare, commit, tempSnapshot, delete, list, gc, clean.
 */
export { openStorage, recordedStorageType } from "./open_storage.ts";
export type { OpenStorageOptions } from "./open_storage.ts";
export type { BaseRef, Snapshot, Storage, StorageType, UnpackFn } from "./types.ts";
export { chainKey, CopyStorage, copyTree, removeTree } from "./copy_dirs.ts";
export { OverlayStorage } from "./overlay_dirs.ts";
export { btrfsOps, copyOps } from "./copy_dirs.ts";
export type { TreeOps } from "./copy_dirs.ts";
export {
  filesystemType,
  isMountPoint,
  setupBtrfsLoopback,
  unmountBtrfsLoopback,
  unmountOwnLoopback,
} from "./btrfs_loopback.ts";
export { controllerOf } from "./trusted_dirs.ts";
export type { Controller } from "./trusted_dirs.ts";
export type { BtrfsLoopbackOptions } from "./btrfs_loopback.ts";
export { storageRequirements } from "./requirements.ts";
export type { BackendRequirement, StorageRequirements } from "./requirements.ts";
export { setupUserDirs } from "./user_dirs.ts";
export type { UserDirsOptions } from "./user_dirs.ts";
