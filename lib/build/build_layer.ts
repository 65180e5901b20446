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
 * Crash safety: outputs appear in dependency order — blobs, then the tag (atomic), then the storage
 * commit, then the cache entry (atomic). A crash at any point leaves the previous tag and cache
 * entry, or an entry whose outputs are all present; the next run rebuilds what it cannot trust.
 */
import { createHash } from "node:crypto";
import { BuildError, StackerError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { type Descriptor, type Digest, type ImageConfig, type Manifest, MediaType } from "../oci/types.ts";
import { buildAnnotations } from "./annotations.ts";
import type { BuildCache, CacheEntry, CacheKey, CacheLookup, ImportKey } from "./build_cache.ts";
import { deriveImageConfig, hostArchitecture, hostOs, type NewLayer } from "./image_config.ts";
import { type AcquiredImports, acquireImports } from "./imports.ts";
import type { BuildServices, FetchedBase, SnapshotPort } from "./services.ts";
import { LayerConverter, type SourceLayer, type StoredLayer, storeGenerated } from "./layer_conversion.ts";
import { isFsLayerType, type LayerType, outputTag } from "./layer_types.ts";
import { treeHash } from "./tree_hash.ts";
import { resolveInRoot } from "./_in_root.ts";
import type { LayerDefinition, OverlayDirSpec } from "./types.ts";

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

/** Canonical JSON: object keys sorted, so the key does not depend on how the parser built the object. */
export function canonicalJson(v: unknown): string {
  return JSON.stringify(
    v,
    (_k, val) =>
      val && typeof val === "object" && !Array.isArray(val)
        ? Object.fromEntries(Object.entries(val).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
        : val,
  );
}

function sha256Hex(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

/** sha256 of the run environment, sorted by name. */
export function runEnvHash(env: Readonly<Record<string, string>>): string {
  return "sha256:" + sha256Hex(canonicalJson(env));
}

/** The rootfs directory of a snapshot that host-side writes go to (upper dir or tree). */
function writableDir(s: SnapshotPort): string {
  return s.diff.kind === "overlay-upper" ? s.diff.upper : s.diff.rootfs;
}

async function copyTreeInto(src: string, dst: string): Promise<void> {
  await Deno.mkdir(dst, { recursive: true });
  const r = await new Deno.Command("cp", {
    args: ["-a", "--reflink=auto", `${src}/.`, `${dst}/`],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new BuildError(
      `Cannot copy "${src}" into the rootfs: ${new TextDecoder().decode(r.stderr).trim()}`,
      {
        code: "build.overlay-copy",
      },
    );
  }
}

/** The image a layer starts from in the output: its config, manifest and annotations. */
interface StartImage {
  readonly manifest?: Manifest;
  readonly config?: ImageConfig;
  /** Where the base's layer blobs live (the cache layout for docker/oci bases). */
  readonly source?: BuildServices["output"];
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

/** What the cache decision of one layer rests on, and what a build on a miss goes on with. */
interface KeyedLayer {
  readonly key: CacheKey;
  readonly imported: AcquiredImports;
  readonly base: FetchedBase;
  /** The image each output type starts from (none for scratch and tar bases). */
  readonly starts: ReadonlyMap<LayerType, StartImage>;
  readonly overlayDirs: readonly OverlayDirSpec[];
  readonly runEnv: Record<string, string>;
}

/**
 * Steps 1-3 of a layer: imports acquired and hashed, base fetched, overlay dirs hashed, and the
 * cache key they make. The one place the key is computed: the build and `layerCacheLookup` (the
 * "needs rebuild" question of publish) both come here, so they cannot disagree.
 */
async function keyOf(planned: PlannedLayer, ctx: BuildLayerContext, log: Logger): Promise<KeyedLayer> {
  const { services: svc, cache } = ctx;
  const def = planned.def;
  const os = def.os ?? hostOs();
  const arch = def.arch ?? hostArchitecture();
  const readStackerPath = (layer: string, path: string, dest: string) =>
    readFromLayer(svc, layer, path, dest);

  // 1. Imports (their hashes are part of the key).
  const imported = await acquireImports({
    layer: def.name,
    imports: def.imports ?? [],
    importDir: `${ctx.stackerDir}/imports/${def.name}`,
    stagingDir: `${ctx.stackerDir}/imports-copy/${def.name}`,
    requireHash: ctx.requireHash,
    readStackerPath,
    log,
    signal: ctx.signal,
  });

  // 2. Base: the image each output type starts from (a built parent's image of the same type; a
  // docker/oci base as it is, its layers converted at repack time).
  const types: readonly LayerType[] = ctx.layerTypes ?? ["tar"];
  const base = await svc.fetchBase(def.from, { os, arch, readStackerPath, log, signal: ctx.signal });
  const starts = new Map<LayerType, StartImage>();
  let baseKey = "";
  if (base.kind === "image") {
    for (const t of types) {
      starts.set(t, { manifest: base.manifest, config: base.config, source: base.layout });
    }
    baseKey = base.manifestDescriptor.digest;
  } else if (base.kind === "tar") {
    baseKey = base.digest;
  } else if (base.kind === "built") {
    const parent = cache.get(base.tag);
    if (!parent || Object.keys(parent.manifests).length === 0) {
      throw new BuildError(`Cannot build on "${base.tag}": it has not been built`, {
        code: "build.missing-parent",
        context: { layer: def.name, parent: base.tag },
      });
    }
    for (const t of types) {
      const parentManifest = parent.manifests[t];
      if (!parentManifest) {
        throw new BuildError(`Cannot build on "${base.tag}": it has no ${t} image`, {
          code: "build.missing-parent",
          context: { layer: def.name, parent: base.tag, type: t },
        });
      }
      const manifest = await svc.output.readJson<Manifest>(parentManifest);
      starts.set(t, {
        manifest,
        config: await svc.output.readJson<ImageConfig>(manifest.config),
        source: svc.output,
      });
    }
    baseKey = parentKeyOf(parent.manifests);
  }

  // 3. The key.
  const overlayDirs: OverlayDirSpec[] = [...(def.overlayDirs ?? [])];
  const overlayKeys: Record<string, string> = {};
  for (const o of overlayDirs) {
    const st = await Deno.stat(o.source).catch(() => undefined);
    if (!st?.isDirectory) {
      throw new BuildError(`Cannot use overlay_dir "${o.source}": it is not a directory`, {
        code: "build.overlay-dir-missing",
        context: { layer: def.name, source: o.source },
      });
    }
    overlayKeys[`${o.source} -> ${o.dest}`] = await treeHash(o.source);
  }
  const runEnv = svc.buildEnvironment(def, ctx.hostEnv);
  const key: CacheKey = {
    definition: canonicalJson(def),
    base: baseKey,
    sourceDateEpoch: ctx.sourceDateEpoch ?? null,
    imports: imported.keys as Record<string, ImportKey>,
    overlayDirs: overlayKeys,
    runEnv: runEnvHash(runEnv),
    layerTypes: [...types].sort(),
    ...(types.some(isFsLayerType) ? { verity: ctx.verity ?? false } : {}),
    hasBinds: (def.binds ?? []).length > 0,
  };
  return { key, imported, base, starts, overlayDirs, runEnv };
}

/**
 * The build's cache decision for one layer without building it: the same key as `buildLayer`
 * (imports are acquired and the base fetched exactly as the build's first steps do), looked up in
 * `ctx.cache`. The caller holds the stacker-dir lock, as for a build.
 */
export async function layerCacheLookup(planned: PlannedLayer, ctx: BuildLayerContext): Promise<CacheLookup> {
  const log = ctx.log.with({ layer: planned.def.name });
  const { key } = await keyOf(planned, ctx, log);
  return ctx.cache.lookup(planned.def.name, key);
}

async function buildLayerInner(
  planned: PlannedLayer,
  ctx: BuildLayerContext,
  log: Logger,
): Promise<LayerResult> {
  const { services: svc, cache } = ctx;
  const def = planned.def;
  const types: readonly LayerType[] = ctx.layerTypes ?? ["tar"];
  const { key, imported, base, starts, overlayDirs, runEnv } = await keyOf(planned, ctx, log);
  // The rootfs is unpacked from the tar image when there is one (shared with tar-only builds).
  const start: StartImage = starts.get("tar") ?? starts.get(types[0]) ?? {};

  if (!ctx.noCache) {
    const found = cache.lookup(def.name, key);
    if (found.hit) {
      const manifests: Partial<Record<LayerType, Descriptor>> = {};
      for (const t of types) {
        const manifest = found.entry.manifests[t];
        manifests[t] = manifest;
        await retag(svc, outputTag(def.name, t), def.buildOnly ? undefined : manifest);
      }
      return { name: def.name, cached: true, manifest: manifests[types[0]]!, manifests, newLayers: 0 };
    }
  }

  // 4. Overlay dirs and dest imports: each its own layer, generated before the rootfs exists, then
  // stacked under the run's writable layer so the run sees them and the own diff does not repeat them.
  const newLayers: { desc: Descriptor; diffId: Digest; createdBy: string }[] = [];
  const emptyBase = await Deno.makeTempDir({ dir: ctx.stackerDir, prefix: ".empty-" });
  try {
    for (const o of [...overlayDirs, ...imported.overlayDirs]) {
      const staged = o.dest === "/" ? o.source : await stageAt(o, ctx.stackerDir);
      try {
        const gen = await svc.generateLayer(
          { kind: "trees", base: emptyBase, rootfs: staged },
          { sourceDateEpoch: ctx.sourceDateEpoch },
        );
        if (gen) {
          newLayers.push({
            ...(await storeGenerated(svc.output, gen)),
            createdBy: `stacker overlay dir for ${def.name}`,
          });
        }
      } finally {
        if (staged !== o.source) await Deno.remove(staged, { recursive: true }).catch(() => {});
      }
    }
  } finally {
    await Deno.remove(emptyBase, { recursive: true }).catch(() => {});
  }
  const overlayCount = newLayers.length;

  // 5. Rootfs: a chain of unpacked layers (base image or built parent, plus the overlay layers), a
  // committed parent, or nothing (scratch, tar).
  const overlayLayers = newLayers.map((l) => ({ desc: l.desc, diffId: l.diffId, source: svc.output }));
  let snapshot: SnapshotPort;
  if (
    base.kind === "image" || (base.kind === "built" && overlayCount > 0) ||
    (base.kind === "scratch" && overlayCount > 0)
  ) {
    const m = start.manifest;
    const c = start.config;
    const baseLayers = (m?.layers ?? []).map((desc, i) => ({
      desc,
      diffId: c!.rootfs.diff_ids[i],
      source: start.source!,
    }));
    if (m && m.layers.length !== c?.rootfs.diff_ids.length) {
      throw new BuildError(
        `Cannot use the base of "${def.name}": ${m.layers.length} layers but ${c?.rootfs.diff_ids.length} diff_ids`,
        { code: "build.bad-base", context: { layer: def.name } },
      );
    }
    const stack = [...baseLayers, ...overlayLayers];
    const chain = stack.map((l) => l.desc.digest);
    await svc.storage.ensureLayers(
      chain,
      (dir, whiteouts, i) =>
        svc.unpackLayer(() => stack[i].source.openBlob(stack[i].desc), dir, {
          mediaType: stack[i].desc.mediaType,
          digest: stack[i].desc.digest,
          diffId: stack[i].diffId,
          whiteouts,
        }),
    );
    snapshot = await svc.storage.prepare(def.name, { chain });
  } else if (base.kind === "built") {
    snapshot = await svc.storage.prepare(def.name, { built: base.tag });
  } else {
    snapshot = await svc.storage.prepare(def.name, { scratch: true });
    if (base.kind === "tar") {
      await svc.unpackTar(base.path, writableDir(snapshot));
      // A tar base has no layer of its own to stack under the overlay dirs: they are copied in, and
      // the run's layer repeats them (stacker does the same for tar bases).
      for (const o of [...overlayDirs, ...imported.overlayDirs]) {
        await copyTreeInto(o.source, writableDir(snapshot) + (o.dest === "/" ? "" : o.dest));
      }
    }
  }

  // 6. Run.
  if (def.run !== undefined && (typeof def.run === "string" ? def.run.trim() !== "" : def.run.length > 0)) {
    await svc.runLayer({
      layer: def,
      file: planned.file,
      snapshot,
      importDir: `${ctx.stackerDir}/imports/${def.name}`,
      binds: def.binds ?? [],
      env: runEnv,
      onRunFailure: ctx.onRunFailure,
      log,
      signal: ctx.signal,
    });
  }

  // 7. Repack into one layer (none when nothing changed).
  const own = await svc.generateLayer(snapshot.diff, { sourceDateEpoch: ctx.sourceDateEpoch });
  if (own) {
    newLayers.push({ ...(await storeGenerated(svc.output, own)), createdBy: `stacker build of ${def.name}` });
  }
  log.debug(`generated ${newLayers.length} new layers (${overlayCount} from overlay dirs)`);

  // 8. Config, manifest and tag per layer type.
  await svc.storage.commit(def.name);
  let generatedLabels: Record<string, string> | undefined;
  if (def.generateLabels !== undefined) {
    await using tmp = await svc.storage.tempSnapshot(def.name);
    generatedLabels = await svc.generateLabels(def, tmp, { log, signal: ctx.signal });
  }
  const manifests: Partial<Record<LayerType, Descriptor>> = {};
  for (const type of types) {
    const s = starts.get(type) ?? {};
    const baseLayers = await layersAs(ctx, layersOf(s, svc.output), type, log);
    const converted = await layersAs(ctx, newLayers.map((l) => ({ ...l, source: svc.output })), type, log);
    const added = converted.map((l, i) => ({ ...l, createdBy: newLayers[i].createdBy }));
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
      generatedLabels,
    });
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
        stackerYaml: planned.stackerYaml,
        stackerVersion: ctx.stackerVersion,
        gitVersion: planned.gitVersion,
      }),
    };
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

/**
 * The cache's base key of a built child: the parent's tar manifest (as for tar-only builds), else
 * every manifest it has. Not the manifests of the requested types: a tar-only build after a
 * tar+squashfs one must still find the child (its parent hit the cache with both).
 */
function parentKeyOf(manifests: Readonly<Record<string, Descriptor>>): string {
  if (manifests.tar) return manifests.tar.digest;
  return Object.keys(manifests).sort().map((t) => `${t}=${manifests[t].digest}`).join(" ");
}

/** Points `tag` at `desc` (no write when it already does); removes the tag when `desc` is undefined. */
async function retag(svc: BuildServices, tag: string, desc: Descriptor | undefined): Promise<void> {
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

/** An overlay dir whose dest is not "/" staged as a tree rooted at "/". */
async function stageAt(o: OverlayDirSpec, stackerDir: string): Promise<string> {
  const root = await Deno.makeTempDir({ dir: stackerDir, prefix: ".overlay-" });
  await copyTreeInto(o.source, root + o.dest.replace(/\/+$/, ""));
  return root;
}

/** Copies `path` out of the committed layer `layer` to the host path `dest` (stacker:// imports). */
async function readFromLayer(svc: BuildServices, layer: string, path: string, dest: string): Promise<void> {
  await using snap = await svc.storage.tempSnapshot(layer);
  await svc.withHostView(snap, async (rootfs) => {
    const src = await resolveInRoot(rootfs, path);
    try {
      await Deno.lstat(src);
    } catch {
      throw new BuildError(`Cannot import "stacker://${layer}${path}": no such file in layer "${layer}"`, {
        code: "build.stacker-import-missing",
        context: { layer, path },
      });
    }
    const r = await new Deno.Command("cp", {
      args: ["-a", "--reflink=auto", src, dest],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!r.success) {
      throw new BuildError(
        `Cannot copy "stacker://${layer}${path}": ${new TextDecoder().decode(r.stderr).trim()}`,
        {
          code: "build.stacker-import-copy",
          context: { layer, path },
        },
      );
    }
  });
}
