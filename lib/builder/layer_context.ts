/**
 * The types every step of one layer's build shares: what the plan hands over (`PlannedLayer`), what
 * the whole build shares (`BuildLayerContext`), and the values the steps pass forward (the image a
 * layer starts from, the layers it adds). Types only, so the key, rootfs and image modules can all
 * import them without importing each other.
 */
import type { Logger } from "../util/log.ts";
import type { ImageConfig, Manifest } from "../oci/types.ts";
import type { BuildCache } from "./build_cache.ts";
import type { LayerConverter, StoredLayer } from "./layer_conversion.ts";
import type { LayerType } from "./layer_types.ts";
import type { BuildServices } from "./services.ts";
import type { LayerDefinition } from "../stackerfile/mod.ts";

/** A layer as the plan hands it over: its definition, the file it came from and that file's text. */
export interface PlannedLayer {
  readonly def: LayerDefinition;
  /** Absolute path (or URL) of its stacker file. */
  readonly file: string;
  /** The stacker file's text after substitution (the stacker_yaml annotation). */
  readonly stackerYaml: string;
  /** `git describe` of the file's work tree, if any. */
  readonly gitVersion?: string;
}

export interface BuildLayerContext {
  readonly services: BuildServices;
  readonly cache: BuildCache;
  readonly stackerDir: string;
  readonly hostEnv: Readonly<Record<string, string>>;
  readonly sourceDateEpoch?: number;
  readonly author: string;
  readonly annotationsNamespace: string;
  readonly stackerVersion: string;
  readonly noCache: boolean;
  readonly requireHash: boolean;
  readonly onRunFailure?: string;
  /** Output layer types, validated (`parseLayerTypes`); default ["tar"]. */
  readonly layerTypes?: readonly LayerType[];
  /** dm-verity data on squashfs/erofs layers (default false). */
  readonly verity?: boolean;
  /** Turns layers into the other types (default: a converter over `stackerDir`). */
  readonly converter?: LayerConverter;
  readonly log: Logger;
  readonly signal?: AbortSignal;
}

/** The image a layer starts from in the output: its config, manifest and annotations. */
export interface StartImage {
  readonly manifest?: Manifest;
  readonly config?: ImageConfig;
  /** Where the base's layer blobs live (the cache layout for docker/oci bases). */
  readonly source?: BuildServices["output"];
}

/** A layer this build adds (overlay dir, dest import or the run's diff), stored in the output. */
export interface AddedLayer extends StoredLayer {
  /** The `created_by` of its history entry. */
  readonly createdBy: string;
}

/** The output layer types of `ctx`: as requested, else tar only. */
export function layerTypesOf(ctx: Pick<BuildLayerContext, "layerTypes">): readonly LayerType[] {
  return ctx.layerTypes ?? ["tar"];
}
