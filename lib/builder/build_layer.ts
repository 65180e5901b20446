/**
 * One layer of a build (spec §3.3 on the cache-miss path, §3.5 in front of it):
 * imports → base → cache lookup → rootfs → overlay dirs → run → one new layer → config, manifest,
 * tag → commit → cache entry. Every layer, build_only included, ends as a manifest in the output
 * layout; a build_only one is simply not tagged, so its children start from it like from any image
 * and its diff ships as its own layer in them (§1.12).
 *
 * Layer types (`--layer-type`): the run's diff is always generated as tar; each other requested
 * type (squashfs, erofs) gets its own image, tag `name-<type>`, chained on the parent's image of
 * that type, with every tar layer converted by `LayerConverter` (so all images hold the same files).
 *
 * This module is the sequence; each step lives in its own module: the key (`layer_key.ts`, shared
 * with publish), the rootfs (`layer_rootfs.ts`) and the per-type images (`layer_images.ts`).
 *
 * Crash safety: outputs appear in dependency order — blobs, then the tag (atomic), then the storage
 * commit, then the cache entry (atomic). A crash at any point leaves the previous tag and cache
 * entry, or an entry whose outputs are all present; the next run rebuilds what it cannot trust.
 */
import { BuildError, StackerError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import type { Descriptor } from "../oci/types.ts";
import type { CacheEntry, CacheKey } from "./build_cache.ts";
import { storeGenerated } from "./layer_conversion.ts";
import { type BuildLayerContext, layerTypesOf, type PlannedLayer, type StartImage } from "./layer_context.ts";
import { retag, writeLayerImages } from "./layer_images.ts";
import { layerKeyOf } from "./layer_key.ts";
import { generateOverlayLayers, prepareRootfs } from "./layer_rootfs.ts";
import { type LayerType, outputTag } from "./layer_types.ts";

export type { BuildLayerContext, PlannedLayer } from "./layer_context.ts";

export interface LayerResult {
  readonly name: string;
  readonly cached: boolean;
  /** The layer's manifest in the output layout (untagged for build_only), of the first layer type. */
  readonly manifest: Descriptor;
  /** The manifest of every requested layer type (tags `name`, `name-squashfs`, …). */
  readonly manifests: Readonly<Partial<Record<LayerType, Descriptor>>>;
  /** Layers this build added to the base (0 when nothing changed). */
  readonly newLayers: number;
}

/**
 * Builds (or finds in the cache) one layer. Throws BuildError naming the layer; the stage error is
 * its cause. On failure the previous tag and cache entry of the layer are left as they were.
 */
export async function buildLayer(planned: PlannedLayer, ctx: BuildLayerContext): Promise<LayerResult> {
  const def = planned.def;
  const log = ctx.log.with({ layer: def.name });
  try {
    return await buildLayerInner(planned, ctx, log);
  } catch (err) {
    if (err instanceof StackerError && err.context.layer !== undefined) throw err;
    throw new BuildError(`Cannot build layer "${def.name}": ${(err as Error).message ?? err}`, {
      code: err instanceof StackerError ? err.code : "build.failed",
      context: { layer: def.name, file: planned.file },
      cause: err,
      exitCode: err instanceof StackerError ? err.exitCode : 1,
    });
  }
}

async function buildLayerInner(
  planned: PlannedLayer,
  ctx: BuildLayerContext,
  log: Logger,
): Promise<LayerResult> {
  const { services: svc, cache } = ctx;
  const def = planned.def;
  const types = layerTypesOf(ctx);
  // 1-3. Imports, base, key: the same function publish asks "needs rebuild?" with.
  const { key, imported, base, starts, overlayDirs, runEnv } = await layerKeyOf(planned, ctx);
  // The rootfs is unpacked from the tar image when there is one (shared with tar-only builds).
  const start: StartImage = starts.get("tar") ?? starts.get(types[0]) ?? {};

  const cached = ctx.noCache ? undefined : await fromCache(ctx, def, key);
  if (cached) return cached;

  // 4. Overlay dirs and dest imports: each its own layer, generated before the rootfs exists, then
  // stacked under the run's writable layer so the run sees them and the own diff does not repeat them.
  const allOverlayDirs = [...overlayDirs, ...imported.overlayDirs];
  const newLayers = await generateOverlayLayers(ctx, { layer: def.name, overlayDirs: allOverlayDirs });
  const overlayCount = newLayers.length;

  // 5. Rootfs: a chain of unpacked layers (base image or built parent, plus the overlay layers), a
  // committed parent, or nothing (scratch, tar).
  const snapshot = await prepareRootfs(ctx, {
    def,
    base,
    start,
    overlayLayers: newLayers,
  });

  // 6. Run.
  if (def.run !== undefined && (typeof def.run === "string" ? def.run.trim() !== "" : def.run.length > 0)) {
    const importDir = `${ctx.stackerDir}/imports/${def.name}`;
    const binds = def.binds ?? [];
    const common = { file: planned.file, onRunFailure: ctx.onRunFailure, log, signal: ctx.signal };
    await svc.runLayer({ layer: def, snapshot, importDir, binds, env: runEnv, ...common });
  }

  // 7. Repack into one layer (none when nothing changed).
  const own = await svc.generateLayer(snapshot.diff, { sourceDateEpoch: ctx.sourceDateEpoch });
  if (own) {
    newLayers.push({ ...(await storeGenerated(svc.output, own)), createdBy: `stacker build of ${def.name}` });
  }
  log.debug(`generated ${newLayers.length} new layers (${overlayCount} from overlay dirs)`);

  // 8. Config, manifest and tag per layer type.
  await svc.storage.commit(def.name);
  const generatedLabels = await generatedLabelsOf(ctx, def, log);
  const manifests = await writeLayerImages(ctx, { planned, starts, added: newLayers, generatedLabels, log });

  // 9. Cache entry, last: it vouches for everything above.
  const entry: CacheEntry = {
    name: def.name,
    key,
    manifests: manifests as Record<string, Descriptor>,
    buildOnly: def.buildOnly ?? false,
    snapshot: def.name,
  };
  await cache.put(entry);
  log.info(`filesystem ${def.name} built successfully`);
  return {
    name: def.name,
    cached: false,
    manifest: manifests[types[0]]!,
    manifests,
    newLayers: newLayers.length,
  };
}

/** The result of a cache hit on `key`, the layer's tags pointed at the cached manifests; else undefined. */
async function fromCache(
  ctx: BuildLayerContext,
  def: PlannedLayer["def"],
  key: CacheKey,
): Promise<LayerResult | undefined> {
  const found = ctx.cache.lookup(def.name, key);
  if (!found.hit) return undefined;
  const types = layerTypesOf(ctx);
  const manifests: Partial<Record<LayerType, Descriptor>> = {};
  for (const t of types) {
    const manifest = found.entry.manifests[t];
    manifests[t] = manifest;
    await retag(ctx.services, outputTag(def.name, t), def.buildOnly ? undefined : manifest);
  }
  return { name: def.name, cached: true, manifest: manifests[types[0]]!, manifests, newLayers: 0 };
}

/** The labels `generate_labels` writes, run in a throw-away snapshot of the committed layer. */
async function generatedLabelsOf(
  ctx: BuildLayerContext,
  def: PlannedLayer["def"],
  log: Logger,
): Promise<Record<string, string> | undefined> {
  if (def.generateLabels === undefined) return undefined;
  await using tmp = await ctx.services.storage.tempSnapshot(def.name);
  return await ctx.services.generateLabels(def, tmp, { log, signal: ctx.signal });
}
