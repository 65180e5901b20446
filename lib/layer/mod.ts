/**
 * The layer engine: tar ⇄ rootfs.
 *
 * - `unpackLayer` / `unpackImage` apply tar (gzip, zstd, plain) and squashfs layers to a directory,
 *   confined to it (chroot-semantics resolution, `..` refused, metadata calls never follow
 *   symlinks), verifying each layer's diff_id while the bytes stream.
 * - `generateLayer` turns an overlay upper directory, or a rootfs and its base, into one layer
 *   blob streamed once, with diff_id and digest computed as it flows; undefined when unchanged.
 * - `generateSquashfs` packs an overlay upper directory with mksquashfs (overlay whiteouts kept),
 *   optionally with dm-verity data appended (`appendVerity`); `generateErofs` likewise with mkfs.erofs.
 *
 * - `RootResolver` / `splitName` resolve untrusted names inside a rootfs with chroot semantics,
 *   and `fsOpsFor` gives the filesystem operations for a root or rootless session: together the
 *   one confined path for any host-side change below a rootfs.
 *
 * All errors are `LayerError` with a `code` (`layer.diffid-mismatch`, `layer.unsafe-name`,
 * `layer.bad-hardlink`, `layer.bad-whiteout`, `layer.root-type`, `layer.sparse`, `layer.budget`,
 * `layer.bad-compression`, `layer.bad-header`, `layer.truncated`, `layer.non-utf8-name`, …) and
 * a context naming the layer digest and the entry.
 */
export { unpackImage, unpackLayer } from "./unpack.ts";
export type { ImageLayer, LayerOpener, UnpackBudget, UnpackOptions, UnpackStats } from "./unpack.ts";
export { RootResolver, splitName } from "./_secure_join.ts";
export type { InRootPath } from "./_secure_join.ts";
export { fsOpsFor } from "./fs_ops.ts";
export type { FsOps, Skipped } from "./fs_ops.ts";
export { generateLayer } from "./generate.ts";
export type { GenerateInput, GenerateOptions } from "./generate.ts";
export {
  appendVerity,
  findVeritysetup,
  generateSquashfs,
  squashfsSupportsZstd,
  VERITY_ROOT_HASH_ANNOTATION,
  veritySupported,
} from "./squashfs.ts";
export type { GeneratedLayer, SquashfsOptions } from "./squashfs.ts";
export { EROFS_MEDIA_TYPE, EROFS_MEDIA_TYPE_PREFIX, erofsSupported, generateErofs } from "./erofs.ts";
export type { ErofsOptions } from "./erofs.ts";
export { compressionOf, tarMediaType } from "./_compression.ts";
export type { Compression } from "./_compression.ts";
