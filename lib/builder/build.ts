/**
 * `build(opts)`: every layer of a stacker file (and its prerequisites) in dependency order, under
 * the stacker-dir lock, with the build cache in front of each layer.
 */
import { BuildError, NotImplementedError } from "../util/errors.ts";
import { erofsSupported, veritySupported } from "../layer/mod.ts";
import { LayerConverter } from "./layer_conversion.ts";
import { isFsLayerType, type LayerType, parseLayerTypes } from "./layer_types.ts";
import { silentLogger } from "../util/log.ts";
import type { Logger } from "../util/log.ts";
import type { Progress } from "../util/progress.ts";
import { STACKER_VERSION } from "../util/version.ts";
import { DEFAULT_ANNOTATIONS_NAMESPACE } from "./annotations.ts";
import { BuildCache } from "./build_cache.ts";
import { buildLayer, type LayerResult } from "./build_layer.ts";
import type { BuildLayerContext, PlannedLayer } from "./layer_context.ts";
import { layerCacheLookup } from "./layer_key.ts";
import { lockBuildDirs, type LockWaitOptions } from "./lock.ts";
import type { StorageType } from "../storage/mod.ts";
import type { BuildServices } from "./services.ts";
import type { LayoutHold } from "../oci/mod.ts";
import { registerCacheRoots } from "./grab.ts";
import { loadPlan, openServices } from "./_wiring.ts";

/** The storage backends (`storage/` `StorageType`), under the name the build API has used. */
export type StorageKind = StorageType;

export interface BuildOptions {
  /** Stacker files to build (paths or http(s) URLs); prerequisites are added. Default ["stacker.yaml"]. */
  readonly stackerFiles?: readonly string[];
  /** Output OCI layout (absolute). */
  readonly ociDir: string;
  readonly stackerDir: string;
  readonly rootsDir: string;
  /** Default: what the stacker dir recorded, else overlay. */
  readonly storageType?: StorageKind;
  /** `--substitute K=V`, in order. */
  readonly substitute?: readonly string[];
  readonly substituteFile?: string;
  /** Rebuild every layer (downloaded bases and import caches are kept). */
  readonly noCache?: boolean;
  readonly requireHash?: boolean;
  /** Command run interactively in the container when a run fails (`--shell-fail` = /bin/sh). */
  readonly onRunFailure?: string;
  /** Default "io.stackeroci". */
  readonly annotationsNamespace?: string;
  /** Output layer types: "tar" (default), "squashfs", "erofs"; each gets its own tag (`name-squashfs`). */
  readonly layerTypes?: readonly string[];
  /**
   * Append dm-verity data to squashfs/erofs layers (default true). Without `veritysetup` on the host the
   * build warns once and goes on without verity.
   */
  readonly verity?: boolean;
  /** The host environment: SOURCE_DATE_EPOCH, build_env_passthrough and the author come from it. */
  readonly env?: Readonly<Record<string, string>>;
  /** Name LXC logs in run failures (`--debug`). */
  readonly debug?: boolean;
  readonly log?: Logger;
  /**
   * How long to wait for another process's lock on the stacker/roots dir or the output layout
   * (`--lock-timeout`), in ms; default 1 hour, 0 fails at once naming the holder.
   */
  readonly lockTimeoutMs?: number;
  /** Per-blob progress of base downloads (`--progress`); none by default. */
  readonly progress?: Progress;
  readonly signal?: AbortSignal;
  /** Stage implementations; default: the real ones (for embedding programs and tests of seams). */
  readonly services?: BuildServices;
}

export interface BuildResult {
  /** One entry per layer, in build order. */
  readonly layers: readonly LayerResult[];
}

/** SOURCE_DATE_EPOCH from `env`, validated: undefined when unset; BuildError when not an integer. */
export function sourceDateEpochOf(env: Readonly<Record<string, string>>): number | undefined {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === "") return undefined;
  if (!/^\d+$/.test(raw)) {
    throw new BuildError(`invalid SOURCE_DATE_EPOCH value "${raw}": not an integer number of seconds`, {
      code: "build.bad-epoch",
    });
  }
  return Number(raw);
}

/** The image author without an epoch: `<sudo user or user>@<host>`, as stacker writes it. */
export function authorOf(env: Readonly<Record<string, string>>): string {
  let host = "localhost";
  try {
    host = Deno.hostname();
  } catch { /* no permission: keep the placeholder */ }
  return `${env.SUDO_USER || env.USER || "root"}@${host}`;
}

/**
 * Builds every layer of the given stacker files. Takes the stacker-dir and roots-dir locks first
 * (fails fast with the holder's pid), so two builds never interleave. A failing layer stops the build; the tags and
 * cache entries of layers built before stay, and the failing layer's previous outputs are untouched.
 * Throws StackerfileError for parse errors (nothing is built), BuildError/RuntimeError/… for a layer.
 */
export async function build(opts: BuildOptions): Promise<BuildResult> {
  const log = opts.log ?? silentLogger;
  sourceDateEpochOf(opts.env ?? {});
  await checkLayerTypes(parseLayerTypes(opts.layerTypes));
  await using _lock = await lockBuildDirs(opts.stackerDir, opts.rootsDir, lockWaitOf(opts, log));
  const plan: PlannedLayer[] = await loadPlan({
    files: opts.stackerFiles ?? ["stacker.yaml"],
    substitute: opts.substitute ?? [],
    substituteFile: opts.substituteFile,
    requireHash: opts.requireHash ?? false,
    dirs: { ociDir: opts.ociDir, stackerDir: opts.stackerDir, rootsDir: opts.rootsDir },
    log,
    env: opts.env,
  });
  return await buildLayers(plan, opts, true);
}

function lockWaitOf(opts: BuildOptions, log: Logger): LockWaitOptions {
  return { timeoutMs: opts.lockTimeoutMs, log, signal: opts.signal };
}

/** Refuses types this host cannot produce (before anything is locked or parsed). */
async function checkLayerTypes(types: readonly LayerType[]): Promise<void> {
  if (types.includes("erofs") && !(await erofsSupported())) {
    throw new NotImplementedError("--layer-type erofs without mkfs.erofs (Debian package erofs-utils)");
  }
}

/** Whether squashfs/erofs layers get verity data: as asked, unless veritysetup is missing (warned once). */
async function verityFor(types: readonly LayerType[], wanted: boolean, log: Logger): Promise<boolean> {
  if (!wanted || !types.some(isFsLayerType)) return false;
  if (await veritySupported()) return true;
  log.warn(
    "veritysetup not found (Debian package cryptsetup-bin): building squashfs/erofs layers without verity",
  );
  return false;
}

/** Scratch dirs a killed build left in the stacker dir (we hold the lock: nobody else uses them). */
async function removeLeftovers(stackerDir: string): Promise<void> {
  try {
    for await (const e of Deno.readDir(stackerDir)) {
      if (/^\.(empty|overlay|view|labels|convert)-/.test(e.name)) {
        await Deno.remove(`${stackerDir}/${e.name}`, { recursive: true });
      }
    }
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

/**
 * Builds `plan` (layers already in dependency order, e.g. from `loadPlan`). Takes the stacker-dir
 * lock unless the caller holds it (`locked`). Same failure contract as `build`.
 */
export async function buildLayers(
  plan: readonly PlannedLayer[],
  opts: BuildOptions,
  locked = false,
): Promise<BuildResult> {
  const log = opts.log ?? silentLogger;
  sourceDateEpochOf(opts.env ?? {});
  const layerTypes = parseLayerTypes(opts.layerTypes);
  await checkLayerTypes(layerTypes);
  await using _lock = locked
    ? undefined
    : await lockBuildDirs(opts.stackerDir, opts.rootsDir, lockWaitOf(opts, log));
  const results: LayerResult[] = [];
  const { services, cache, ctx, held } = await openSession(opts, layerTypes, log);
  try {
    const verity = await verityFor(layerTypes, opts.verity ?? true, log);
    for (const planned of plan) {
      opts.signal?.throwIfAborted();
      results.push(await buildLayer(planned, { ...ctx, verity }));
    }
  } finally {
    // Untagged build_only manifests are roots too: their children and the cache point at them.
    await registerCacheRoots(services.output, cache)
      .catch((err) => log.warn(`cannot register the build cache's gc roots: ${err?.message ?? err}`))
      .finally(() => held.release());
  }
  // Only when no other process writes into the layout: theirs may hold blobs not tagged yet.
  const gc = await services.output.gc([], { wait: false });
  if (gc.skipped) log.debug(`not collecting garbage in "${opts.ociDir}": in use by ${gc.skipped}`);
  return { layers: results };
}

/**
 * What every layer of one build shares: the services, the build cache (entries whose outputs are
 * gone pruned) and the context each layer's key is computed in. `build` and `staleLayers` both
 * start here, so a layer's key never depends on which of them asks.
 */
async function openSession(
  opts: BuildOptions,
  layerTypes: readonly LayerType[],
  log: Logger,
): Promise<{ services: BuildServices; cache: BuildCache; ctx: BuildLayerContext; held: LayoutHold }> {
  const services = opts.services ?? await openServices({
    ociDir: opts.ociDir,
    stackerDir: opts.stackerDir,
    rootsDir: opts.rootsDir,
    storageType: opts.storageType,
    env: opts.env ?? {},
    debug: opts.debug,
    log,
    progress: opts.progress,
    lockTimeoutMs: opts.lockTimeoutMs,
  });
  // Held before the cache is checked against the layout: from here on no gc removes what it names.
  const held = await services.output.hold();
  try {
    return { ...(await openCache(opts, services, layerTypes, log)), services, held };
  } catch (err) {
    held.release();
    throw err;
  }
}

async function openCache(
  opts: BuildOptions,
  services: BuildServices,
  layerTypes: readonly LayerType[],
  log: Logger,
): Promise<{ cache: BuildCache; ctx: BuildLayerContext }> {
  const env = opts.env ?? {};
  const epoch = sourceDateEpochOf(env);
  await removeLeftovers(opts.stackerDir);
  let names: Set<string> | undefined;
  const cache = await BuildCache.open(`${opts.stackerDir}/build.cache`, {
    log,
    debug: opts.debug,
    isValid: async (e) => {
      const ms = Object.values(e.manifests);
      if (ms.length === 0) return false;
      for (const m of ms) if (!(await services.output.hasBlob(m.digest))) return false;
      names ??= new Set((await services.storage.list()).names);
      if (names.has(e.snapshot ?? e.name)) return true;
      // The roots dir lost the layer (e.g. `rm -rf roots`): its overlay dir copies went with it.
      const overlay = Object.keys(e.key.overlayDirs)[0];
      return overlay !== undefined
        ? `cache miss because overlay_dir was missing: ${overlay.split(" -> ")[0]}`
        : false;
    },
  });
  const ctx: BuildLayerContext = {
    services,
    cache,
    stackerDir: opts.stackerDir,
    hostEnv: env,
    sourceDateEpoch: epoch,
    author: epoch !== undefined ? "stacker" : authorOf(env),
    annotationsNamespace: opts.annotationsNamespace ?? DEFAULT_ANNOTATIONS_NAMESPACE,
    stackerVersion: STACKER_VERSION,
    noCache: opts.noCache ?? false,
    requireHash: opts.requireHash ?? false,
    onRunFailure: opts.onRunFailure,
    layerTypes,
    converter: new LayerConverter(opts.stackerDir, services, log),
    log,
    signal: opts.signal,
  };
  return { cache, ctx };
}

/** The layers `def` needs built first: its `built` base and the layers of its `stacker://` sources. */
function dependenciesOf(def: PlannedLayer["def"]): string[] {
  const urls = [
    def.from.type === "tar" ? def.from.url : undefined,
    ...(def.imports ?? []).map((i) => i.path),
  ];
  const deps = urls.flatMap((u) => /^stacker:\/\/([^/]+)\//.exec(u ?? "")?.[1] ?? []);
  if (def.from.type === "built" && def.from.tag) deps.push(def.from.tag);
  return deps;
}

/**
 * The layers of `plan` a build would not take from the cache, each with the build's reason
 * (`cache miss because …`, `… was not built before`), without building anything: the question
 * `publish` asks before copying. Only `layers` (default: all) and what they depend on are checked.
 * A layer on a stale `built` base or reading `stacker://` from a stale layer is stale too (the
 * build would rebuild that first). The key is the build's own (`layerCacheLookup`), so imports are
 * acquired and bases fetched as in a build's first steps, under the stacker-dir lock.
 * `opts.verity` undefined means "as built": the verity choice is a build flag publish cannot know.
 */
export async function staleLayers(
  plan: readonly PlannedLayer[],
  opts: BuildOptions & { readonly layers?: readonly string[] },
): Promise<ReadonlyMap<string, string>> {
  const log = opts.log ?? silentLogger;
  const layerTypes = parseLayerTypes(opts.layerTypes);
  await checkLayerTypes(layerTypes);
  const byName = new Map(plan.map((p) => [p.def.name, p]));
  const needed = new Set<string>();
  const want = (name: string) => {
    if (needed.has(name) || !byName.has(name)) return;
    needed.add(name);
    for (const d of dependenciesOf(byName.get(name)!.def)) want(d);
  };
  for (const name of opts.layers ?? byName.keys()) want(name);
  await using _lock = await lockBuildDirs(opts.stackerDir, opts.rootsDir, lockWaitOf(opts, log));
  const { cache, ctx, held } = await openSession(opts, layerTypes, log);
  await using _held = held;
  const verity = opts.verity === undefined ? undefined : await verityFor(layerTypes, opts.verity, log);
  const stale = new Map<string, string>();
  for (const planned of plan) {
    const name = planned.def.name;
    if (!needed.has(name)) continue;
    opts.signal?.throwIfAborted();
    const dep = dependenciesOf(planned.def).find((d) => stale.has(d));
    if (dep !== undefined) {
      stale.set(name, `layer ${dep} it depends on needs rebuilding`);
      continue;
    }
    const found = await layerCacheLookup(planned, {
      ...ctx,
      verity: verity ?? cache.get(name)?.key.verity ?? false,
    });
    if (!found.hit) stale.set(name, found.reason);
  }
  return stale;
}
