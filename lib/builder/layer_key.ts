/**
 * A layer's cache key (spec §3.5 with our complete keys): imports acquired and hashed, the base
 * fetched, overlay dirs hashed, and the `CacheKey` they make. The one place the key is computed:
 * the build (`buildLayer`) and publish's "needs rebuild" question (`layerCacheLookup`, through
 * `staleLayers`) both call `layerKeyOf`, so they cannot disagree.
 */
import { createHash } from "node:crypto";
import { BuildError } from "../util/errors.ts";
import { mapSecretsIn } from "../util/secrets.ts";
import type { Descriptor, ImageConfig, Manifest } from "../oci/types.ts";
import type { CacheKey, CacheLookup, ImportKey } from "./build_cache.ts";
import { hostArchitecture, hostOs } from "./image_config.ts";
import { type AcquiredImports, acquireImports } from "./imports.ts";
import { type BuildLayerContext, layerTypesOf, type PlannedLayer, type StartImage } from "./layer_context.ts";
import { isFsLayerType, type LayerType } from "./layer_types.ts";
import type { FetchedBase } from "../transport/mod.ts";
import { treeHashAndEntries } from "./tree_hash.ts";
import type { LayerDefinition, LayerSpec, OverlayDirSpec } from "../stackerfile/mod.ts";
import { readFromLayer } from "./_read_from_layer.ts";

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

/**
 * The cache key's view of a layer: its directives. Not where they sit (`file`, `index`, `positions`
 * are the parser's bookkeeping), not what follows from them (an import's `kind` from its path, the
 * run script from `run`), and false flags left out as the defaults they are. So a comment added
 * above a layer keeps its cache, and a new directive is part of the key without being listed here.
 */
export function definitionKey(def: LayerDefinition): string {
  const { file: _f, index: _i, positions: _p, runScript: _r, ...directives } = def as
    & LayerDefinition
    & Partial<Pick<LayerSpec, "file" | "index" | "positions" | "runScript">>;
  return canonicalJson({
    ...directives,
    imports: directives.imports?.map(({ kind: _k, ...i }) => i),
    legacyImport: directives.legacyImport || undefined,
    buildOnly: directives.buildOnly || undefined,
  });
}

function sha256Hex(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

/** How a secret stands in a cache key: named and digested (`<secret ${{KEY}} sha256:…>`). */
function secretDigest(value: string, shownAs: string): string {
  return `<secret ${shownAs} sha256:${sha256Hex(`stacker-secret\0${shownAs}\0${value}`)}>`;
}

/** sha256 of the run environment, sorted by name. */
export function runEnvHash(env: Readonly<Record<string, string>>): string {
  return "sha256:" + sha256Hex(canonicalJson(env));
}

/** What the cache decision of one layer rests on, and what a build on a miss goes on with. */
export interface KeyedLayer {
  readonly key: CacheKey;
  readonly imported: AcquiredImports;
  readonly base: FetchedBase;
  /** The image each output type starts from (none for scratch and tar bases). */
  readonly starts: ReadonlyMap<LayerType, StartImage>;
  readonly overlayDirs: readonly OverlayDirSpec[];
  readonly runEnv: Record<string, string>;
}

/**
 * Steps 1-3 of a layer: imports acquired into `<stacker-dir>/imports/<name>` and hashed, base
 * fetched, overlay dirs hashed, and the cache key they make. Modification times are not part of
 * the key (tree and entry hashes ignore them). Throws BuildError `build.missing-parent` when a
 * `built` base has no image of a requested type, `build.overlay-dir-missing` when an overlay dir
 * source is not a directory; import and fetch errors pass through.
 */
export async function layerKeyOf(planned: PlannedLayer, ctx: BuildLayerContext): Promise<KeyedLayer> {
  const svc = ctx.services;
  const def = planned.def;
  const log = ctx.log.with({ layer: def.name });
  const os = def.os ?? hostOs();
  const arch = def.arch ?? hostArchitecture();
  const readStackerPath = (layer: string, path: string, dest: string) =>
    readFromLayer(svc, { layer, path, dest });

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
  const types = layerTypesOf(ctx);
  const base = await svc.fetchBase(def.from, { os, arch, readStackerPath, log, signal: ctx.signal });
  const { starts, baseKey } = await startsOf(def.name, base, types, ctx);

  // 3. The key.
  const overlayDirs: OverlayDirSpec[] = [...(def.overlayDirs ?? [])];
  const overlay = await overlayKeysOf(def.name, overlayDirs);
  const runEnv = svc.buildEnvironment(def, ctx.hostEnv);
  // Stored in the cache file: a secret counts by its digest, never by its value.
  const key: CacheKey = mapSecretsIn<CacheKey>({
    definition: definitionKey(def),
    base: baseKey,
    sourceDateEpoch: ctx.sourceDateEpoch ?? null,
    imports: imported.keys as Record<string, ImportKey>,
    overlayDirs: overlay.keys,
    ...(overlayDirs.length > 0 ? { overlayDirFiles: overlay.files } : {}),
    runEnv: runEnvHash(runEnv),
    layerTypes: [...types].sort(),
    ...(types.some(isFsLayerType) ? { verity: ctx.verity ?? false } : {}),
    hasBinds: (def.binds ?? []).length > 0,
  }, secretDigest);
  return { key, imported, base, starts, overlayDirs, runEnv };
}

/**
 * The image each output type starts from, and the base part of the key: the manifest digest of an
 * image base, the digest of a tar base, the parent's manifests for a built one, "" for scratch.
 * Throws BuildError `build.missing-parent` when a built parent has no image of a requested type.
 */
async function startsOf(
  layer: string,
  base: FetchedBase,
  types: readonly LayerType[],
  ctx: BuildLayerContext,
): Promise<{ starts: Map<LayerType, StartImage>; baseKey: string }> {
  const starts = new Map<LayerType, StartImage>();
  if (base.kind === "image") {
    for (const t of types) {
      starts.set(t, { manifest: base.manifest, config: base.config, source: base.layout });
    }
    return { starts, baseKey: base.manifestDescriptor.digest };
  }
  if (base.kind === "tar") return { starts, baseKey: base.digest };
  if (base.kind === "scratch") return { starts, baseKey: "" };
  const parent = ctx.cache.get(base.tag);
  if (!parent || Object.keys(parent.manifests).length === 0) {
    throw new BuildError(`Cannot build on "${base.tag}": it has not been built`, {
      code: "build.missing-parent",
      context: { layer, parent: base.tag },
    });
  }
  const output = ctx.services.output;
  for (const t of types) {
    const parentManifest = parent.manifests[t];
    if (!parentManifest) {
      throw new BuildError(`Cannot build on "${base.tag}": it has no ${t} image`, {
        code: "build.missing-parent",
        context: { layer, parent: base.tag, type: t },
      });
    }
    const manifest = await output.readJson<Manifest>(parentManifest);
    starts.set(t, { manifest, config: await output.readJson<ImageConfig>(manifest.config), source: output });
  }
  return { starts, baseKey: parentKeyOf(parent.manifests) };
}

/**
 * Each overlay dir (`<source> -> <dest>`) → its tree hash, and → the hash of each entry (for the
 * miss message). Throws BuildError `build.overlay-dir-missing` when a source is not a directory.
 */
async function overlayKeysOf(
  layer: string,
  overlayDirs: readonly OverlayDirSpec[],
): Promise<{ keys: Record<string, string>; files: Record<string, Record<string, string>> }> {
  const keys: Record<string, string> = {};
  const files: Record<string, Record<string, string>> = {};
  for (const o of overlayDirs) {
    const st = await Deno.stat(o.source).catch(() => undefined);
    if (!st?.isDirectory) {
      throw new BuildError(`Cannot use overlay_dir "${o.source}": it is not a directory`, {
        code: "build.overlay-dir-missing",
        context: { layer, source: o.source },
      });
    }
    const tree = await treeHashAndEntries(o.source);
    keys[`${o.source} -> ${o.dest}`] = tree.hash;
    files[`${o.source} -> ${o.dest}`] = tree.entries;
  }
  return { keys, files };
}

/**
 * The build's cache decision for one layer without building it: the same key as `buildLayer`
 * (imports are acquired and the base fetched exactly as the build's first steps do), looked up in
 * `ctx.cache`. The caller holds the stacker-dir lock, as for a build.
 */
export async function layerCacheLookup(planned: PlannedLayer, ctx: BuildLayerContext): Promise<CacheLookup> {
  const { key } = await layerKeyOf(planned, ctx);
  return ctx.cache.lookup(planned.def.name, key);
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
