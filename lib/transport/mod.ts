/**
 * Where images come from and go to: image references, the registry client, one generic copy,
 * the fetch stage for every `from` type, and publish. Other folders import `transport/` only here.
 */
export { formatImageRef, parseImageRef, registryHost, SKOPEO_SCHEMES } from "./image_ref.ts";
export type { ImageRef, SkopeoScheme } from "./image_ref.ts";
export { RegistryClient } from "./registry_client.ts";
export type { FetchedManifest, RegistryClientOptions } from "./registry_client.ts";
export { authFiles, lookupCredentials } from "./_auth.ts";
export type { Credentials } from "./_auth.ts";
export {
  copyImage,
  layoutDestination,
  layoutSource,
  registryDestination,
  registrySource,
} from "./copy_image.ts";
export type {
  CopyImageOptions,
  CopyResult,
  ImageDestination,
  ImageSource,
  PlatformChoice,
} from "./copy_image.ts";
export {
  baseCacheTag,
  baseFetcher,
  detectCompression,
  fetchBase,
  openBaseCache,
  withSource,
} from "./fetch_base.ts";
export type {
  BaseFetcher,
  BaseFetcherOptions,
  FetchBaseOptions,
  FetchedBase,
  FetchRequest,
} from "./fetch_base.ts";
export { publish } from "./publish.ts";
export type { Published, PublishImage, PublishOptions } from "./publish.ts";
export { skopeoCopy } from "./skopeo.ts";
export type { SkopeoCopyOptions } from "./skopeo.ts";
