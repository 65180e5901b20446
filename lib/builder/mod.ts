/**
 * The build: parse → fetch → unpack → run → repack for every layer, with imports, the build cache,
 * image config and annotations; plus inspect, grab and gc.
 */
export { authorOf, build, buildLayers, sourceDateEpochOf, staleLayers } from "./build.ts";
export type { BuildOptions, BuildResult, StorageKind } from "./build.ts";
export { buildLayer } from "./build_layer.ts";
export type { LayerResult } from "./build_layer.ts";
export { canonicalJson, definitionKey, layerCacheLookup, runEnvHash } from "./layer_key.ts";
export type { BuildLayerContext, PlannedLayer } from "./layer_context.ts";
export { BuildCache, CACHE_VERSION, compareKeys, keyDigest } from "./build_cache.ts";
export type { CacheEntry, CacheKey, CacheLookup, ImportKey } from "./build_cache.ts";
export {
  createdTime,
  DEFAULT_PATH,
  deriveImageConfig,
  hostArchitecture,
  hostOs,
  splitShellWords,
} from "./image_config.ts";
export type { DeriveConfigOptions, NewLayer } from "./image_config.ts";
export { buildAnnotations, DEFAULT_ANNOTATIONS_NAMESPACE } from "./annotations.ts";
export { gitVersion } from "./git_version.ts";
export type { GitVersionOptions } from "./git_version.ts";
export type { AnnotationOptions } from "./annotations.ts";
export { acquireImports, importBasename, normalizeHash, placeImport } from "./imports.ts";
export type { AcquiredImports, AcquireImportsOptions, StackerSourceReader } from "./imports.ts";
export { isFsLayerType, LAYER_TYPES, layerTypeOf, outputTag, parseLayerTypes } from "./layer_types.ts";
export type { FsLayerType, LayerType } from "./layer_types.ts";
export { LayerConverter, storeGenerated } from "./layer_conversion.ts";
export type { ConvertOptions, SourceLayer, StoredLayer } from "./layer_conversion.ts";
export { DEFAULT_LOCK_TIMEOUT_MS, lockBuildDirs, lockDir, lockHolder } from "./lock.ts";
export type { DirLock } from "./lock.ts";
export { entryHash, fileDigest, pathHash, treeHash, treeManifest } from "./tree_hash.ts";
export { formatInspect, humanSize, inspect, inspectImages, inspectJson } from "./inspect.ts";
export type { InspectedImage } from "./inspect.ts";
export { collectGarbage, grab, parseGrabSpec } from "./grab.ts";
export type { GrabOptions } from "./grab.ts";
export { loadPlan, openLayout, openServices } from "./_wiring.ts";
export type { LoadPlanOptions, OpenServicesOptions } from "./_wiring.ts";
export type * from "./services.ts";
export type * from "./types.ts";
