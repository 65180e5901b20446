/**
 * A built layer's images, one per requested layer type (step 8 of a layer): the start image's
 * layers and the layers this build added, each as that type (kept when already of it, converted by
 * `LayerConverter` otherwise, so every type's image holds the same files), then the config, the
 * manifest and the tag (`name`, `name-squashfs`, …). Each type chains on the start image of its
 * own type.
 */
import type { Logger } from "../util/log.ts";
import { type Descriptor, type ImageConfig, type Manifest, MediaType } from "../oci/types.ts";
import { BuildError } from "../util/errors.ts";
import { mapSecretsIn } from "../util/secrets.ts";
import { buildAnnotations } from "./annotations.ts";
import { deriveImageConfig, type NewLayer } from "./image_config.ts";
import { LayerConverter, type SourceLayer, type StoredLayer } from "./layer_conversion.ts";
import {
  type AddedLayer,
  type BuildLayerContext,
  layerTypesOf,
  type PlannedLayer,
  type StartImage,
} from "./layer_context.ts";
import { type LayerType, outputTag } from "./layer_types.ts";
import type { BuildServices } from "./services.ts";

export interface WriteLayerImagesOptions {
  readonly planned: PlannedLayer;
  /** The image each type starts from (`layerKeyOf`); a type without one starts from scratch. */
  readonly starts: ReadonlyMap<LayerType, StartImage>;
  /** The layers this build added, in order, as tar in the output layout. */
  readonly added: readonly AddedLayer[];
  /** From `generate_labels`, merged into the config's labels. */
  readonly generatedLabels?: Record<string, string>;
  readonly log: Logger;
}

/**
 * Writes the image of every type of `ctx` (configs, manifests and converted blobs in the output
 * layout) and points its tag at it; a build_only layer's tags are removed instead. Returns the
 * manifest of each type. Throws BuildError `build.bad-base` when a start image's layers and
 * diff_ids disagree; conversion errors pass through.
 */
export async function writeLayerImages(
  ctx: BuildLayerContext,
  opts: WriteLayerImagesOptions,
): Promise<Partial<Record<LayerType, Descriptor>>> {
  const svc = ctx.services;
  const def = opts.planned.def;
  const manifests: Partial<Record<LayerType, Descriptor>> = {};
  for (const type of layerTypesOf(ctx)) {
    const s = opts.starts.get(type) ?? {};
    const baseLayers = await layersAs(ctx, layersOf(s, svc.output), type, opts.log);
    const converted = await layersAs(
      ctx,
      opts.added.map((l) => ({ ...l, source: svc.output })),
      type,
      opts.log,
    );
    const added = converted.map((l, i) => ({ ...l, createdBy: opts.added[i].createdBy }));
    const nl: NewLayer[] = added.map((l) => ({ diffId: l.diffId, createdBy: l.createdBy }));
    // diff_ids of converted base layers are those of the converted blobs
    const startConfig: ImageConfig | undefined = s.config && {
      ...s.config,
      rootfs: { ...s.config.rootfs, diff_ids: baseLayers.map((l) => l.diffId) },
    };
    const config = deriveImageConfig(startConfig, def, {
      newLayers: nl,
      sourceDateEpoch: ctx.sourceDateEpoch,
      author: ctx.author,
      generatedLabels: opts.generatedLabels,
    });
    refuseSecrets(def.name, "image config", config);
    const configDesc = await svc.output.putJson(config, MediaType.ociConfig);
    const manifest: Manifest = {
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config: { mediaType: configDesc.mediaType, digest: configDesc.digest, size: configDesc.size },
      layers: [...baseLayers.map((l) => l.desc), ...added.map((l) => l.desc)],
      annotations: buildAnnotations({
        base: s.manifest?.annotations,
        layer: def.annotations,
        namespace: ctx.annotationsNamespace,
        stackerYaml: opts.planned.stackerYaml,
        stackerVersion: ctx.stackerVersion,
        gitVersion: opts.planned.gitVersion,
      }),
    };
    refuseSecrets(def.name, "manifest annotations", manifest.annotations);
    const manifestDesc = await svc.output.putJson(manifest, MediaType.ociManifest);
    const plainDesc: Descriptor = {
      mediaType: manifestDesc.mediaType,
      digest: manifestDesc.digest,
      size: manifestDesc.size,
    };
    manifests[type] = plainDesc;
    // build_only: untagged (it may have been tagged when it was not build_only before)
    await retag(svc, outputTag(def.name, type), def.buildOnly ? undefined : plainDesc);
  }
  return manifests;
}

/**
 * Points `tag` at `desc` (no write when it already does); removes the tag when `desc` is undefined.
 * Idempotent.
 */
export async function retag(svc: BuildServices, tag: string, desc: Descriptor | undefined): Promise<void> {
  const tagged = await svc.output.resolve(tag);
  if (desc && tagged?.digest !== desc.digest) await svc.output.tag(tag, desc);
  if (!desc && tagged) await svc.output.untag(tag);
}

/**
 * `layers` as `type`, stored in the output layout: kept when they already are of that type (copied
 * from the base cache), converted otherwise (a docker/oci tar base or the new tar layers in a
 * squashfs image, a squashfs base in a tar image).
 */
async function layersAs(
  ctx: BuildLayerContext,
  layers: readonly SourceLayer[],
  type: LayerType,
  log: Logger,
): Promise<StoredLayer[]> {
  const converter = ctx.converter ?? new LayerConverter(ctx.stackerDir, ctx.services, log);
  const out: StoredLayer[] = [];
  for (const layer of layers) {
    out.push(
      await converter.convert(layer, {
        target: type,
        sourceDateEpoch: ctx.sourceDateEpoch,
        verity: ctx.verity ?? false,
        signal: ctx.signal,
      }),
    );
  }
  return out;
}

/** The layers of a start image with their diff_ids; BuildError `build.bad-base` when they disagree. */
function layersOf(s: StartImage, output: BuildServices["output"]): SourceLayer[] {
  const m = s.manifest;
  if (!m) return [];
  const diffIds = s.config?.rootfs.diff_ids ?? [];
  if (m.layers.length !== diffIds.length) {
    throw new BuildError(`Cannot use the base: ${m.layers.length} layers but ${diffIds.length} diff_ids`, {
      code: "build.bad-base",
    });
  }
  return m.layers.map((desc, i) => ({ desc, diffId: diffIds[i], source: s.source ?? output }));
}

/**
 * Throws BuildError `build.secret-in-image` when a secret (a `--substitute-secret` value, a
 * password) would be written into the image: an `environment:`, label or annotation that uses one.
 */
function refuseSecrets(layer: string, where: string, value: unknown): void {
  let shown: string | undefined;
  mapSecretsIn(value, (v, shownAs) => {
    shown ??= shownAs;
    return v;
  });
  if (shown === undefined) return;
  throw new BuildError(
    `Cannot write the ${where} of "${layer}": it would hold the secret ${shown} (use secrets in run and build_env only)`,
    { code: "build.secret-in-image", context: { layer, secret: shown } },
  );
}
