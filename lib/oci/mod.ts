/** The OCI content model and the image layout store. Other folders import `oci/` only through here. */
export type * from "./types.ts";
export { MediaType, REF_NAME_ANNOTATION } from "./types.ts";
export { DigestStream, fileDigest, parseDigest, readBounded, sha256Digest } from "./digest.ts";
export type { DigestResult, DigestStreamOptions } from "./digest.ts";
export { atomicWriteFile, syncDir } from "./atomic_write.ts";
export { acquireFileLock, describeHolder, lockHolder, lockHolders, withFileLock } from "./file_lock.ts";
export type { FileLockOptions, HeldLock, LockHolder } from "./file_lock.ts";
export {
  isIndexMediaType,
  isManifestMediaType,
  MAX_JSON_BYTES,
  normalizeArch,
  parseDescriptor,
  parseImageConfig,
  parseManifestOrIndex,
  selectPlatform,
} from "./manifest.ts";
export { OciLayout } from "./oci_layout.ts";
export { LayoutLock } from "./layout_lock.ts";
export type { HoldOptions, LayoutLockOptions, OpenLayoutOptions, StoredImage } from "./oci_layout.ts";
export type { GcResult, LayoutHold, LayoutStore } from "./layout_store.ts";
