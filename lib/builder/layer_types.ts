/**
 * Output layer types (`--layer-type`, spec §2.2): which ones exist, how a build names its tag for
 * each, and which type a stored layer blob already is. A build always generates tar layers; every
 * other type is derived from them (`layer_conversion.ts`), so the images of all types hold the same
 * files.
 */
import { BuildError } from "../util/errors.ts";
import { MediaType } from "../oci/types.ts";
import { EROFS_MEDIA_TYPE_PREFIX } from "../layer/mod.ts";

/** tar (gzip), squashfs (mksquashfs), erofs (mkfs.erofs, lz4hc). */
export type LayerType = "tar" | "squashfs" | "erofs";

/** Every type the CLI accepts, in the order stacker lists them. */
export const LAYER_TYPES: readonly LayerType[] = ["tar", "squashfs", "erofs"];

/** Filesystem-image types: mounted directly (overlay whiteouts kept), optionally with dm-verity data. */
export type FsLayerType = Exclude<LayerType, "tar">;

export function isFsLayerType(t: LayerType): t is FsLayerType {
  return t !== "tar";
}

/**
 * The requested types, validated and without repeats, in the order given; ["tar"] when none.
 * Throws BuildError `build.layer-type` (`unknown layer type: x`) for anything else.
 */
export function parseLayerTypes(raw: readonly string[] | undefined): LayerType[] {
  const out: LayerType[] = [];
  for (const t of raw ?? []) {
    if (!(LAYER_TYPES as readonly string[]).includes(t)) {
      throw new BuildError(`unknown layer type: ${t}`, { code: "build.layer-type", context: { type: t } });
    }
    if (!out.includes(t as LayerType)) out.push(t as LayerType);
  }
  return out.length > 0 ? out : ["tar"];
}

/** The output tag of `layer` for `type`: `name`, `name-squashfs`, `name-erofs`. */
export function outputTag(layer: string, type: LayerType): string {
  return type === "tar" ? layer : `${layer}-${type}`;
}

/** The type a layer blob of `mediaType` already is (anything not squashfs or erofs counts as tar). */
export function layerTypeOf(mediaType: string): LayerType {
  if (mediaType.startsWith(MediaType.squashfs)) return "squashfs";
  if (mediaType.startsWith(EROFS_MEDIA_TYPE_PREFIX)) return "erofs";
  return "tar";
}
