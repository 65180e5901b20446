/**
 * A `BuildLayerContext` over the real services (copy storage) in a fresh temp dir, for tests of one
 * step of a layer's build (key, rootfs, images). Disposing it removes the dir.
 */
import { silentLogger } from "../../../lib/util/log.ts";
import { BuildCache } from "../../../lib/builder/build_cache.ts";
import type { BuildLayerContext, PlannedLayer } from "../../../lib/builder/layer_context.ts";
import type { BuildServices } from "../../../lib/builder/services.ts";
import type { LayerDefinition } from "../../../lib/builder/types.ts";
import { openServices } from "../../../lib/builder/_wiring.ts";

export interface TempLayerContext extends AsyncDisposable {
  readonly dir: string;
  /** A host dir for sources (imports, overlay dirs). */
  readonly src: string;
  readonly svc: BuildServices;
  readonly ctx: BuildLayerContext;
}

/** Real services and an empty build cache under a new temp dir; `patch` overrides context fields. */
export async function tempLayerContext(patch: Partial<BuildLayerContext> = {}): Promise<TempLayerContext> {
  const dir = await Deno.makeTempDir({ prefix: "layer-step-test-" });
  const src = `${dir}/src`;
  await Deno.mkdir(src);
  const stackerDir = `${dir}/stacker`;
  await Deno.mkdir(stackerDir);
  const svc = await openServices({
    ociDir: `${dir}/oci`,
    rootsDir: `${dir}/roots`,
    stackerDir,
    storageType: "copy",
    log: silentLogger,
  });
  const cache = await BuildCache.open(`${stackerDir}/build.cache`, { log: silentLogger });
  const ctx: BuildLayerContext = {
    services: svc,
    cache,
    stackerDir,
    hostEnv: {},
    sourceDateEpoch: 1700000000,
    author: "stacker",
    annotationsNamespace: "io.stackeroci",
    stackerVersion: "test",
    noCache: false,
    requireHash: false,
    log: silentLogger,
    ...patch,
  };
  return {
    dir,
    src,
    svc,
    ctx,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** `def` as the plan would hand it over, from a stacker file in `dir`. */
export function plannedOf(def: LayerDefinition, dir: string): PlannedLayer {
  return { def, file: `${dir}/stacker.yaml`, stackerYaml: `# test\n${def.name}` };
}
