/**
 * `stacker grab LAYER:PATH [DEST]` and `stacker gc`: the two maintenance operations that need the
 * build's view of storage and cache.
 */
import { BuildError } from "../util/errors.ts";
import type { BuildCache } from "./build_cache.ts";
import type { BuildServices } from "./services.ts";
import { resolveInRoot } from "./_in_root.ts";

/** Splits `LAYER:PATH`; throws BuildError when there is no colon or either side is empty. */
export function parseGrabSpec(spec: string): { layer: string; path: string } {
  const i = spec.indexOf(":");
  if (i <= 0 || i === spec.length - 1) {
    throw new BuildError(`Cannot grab "${spec}": expected LAYER:PATH`, { code: "build.bad-grab" });
  }
  const path = spec.slice(i + 1);
  return { layer: spec.slice(0, i), path: path.startsWith("/") ? path : `/${path}` };
}

export interface GrabOptions {
  readonly services: Pick<BuildServices, "storage" | "withHostView">;
  readonly layer: string;
  /** Absolute path inside the layer. */
  readonly path: string;
  /** Host directory (or file path) to copy to; an existing directory receives the item by name. */
  readonly dest: string;
}

/**
 * Copies a file or directory out of a built layer (build_only included), keeping modes, from a
 * throw-away snapshot so the layer itself is never touched. Throws BuildError when the path is
 * not in the layer.
 */
export async function grab(opts: GrabOptions): Promise<void> {
  await using snap = await opts.services.storage.tempSnapshot(opts.layer);
  await opts.services.withHostView(snap, async (rootfs) => {
    const src = await resolveInRoot(rootfs, opts.path);
    try {
      await Deno.lstat(src);
    } catch {
      throw new BuildError(`Cannot grab "${opts.path}" from "${opts.layer}": no such file in the layer`, {
        code: "build.grab-missing",
        context: { layer: opts.layer, path: opts.path },
      });
    }
    const r = await new Deno.Command("cp", {
      args: ["-a", "--no-preserve=ownership", src, opts.dest],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!r.success) {
      throw new BuildError(`Cannot grab "${opts.path}": ${new TextDecoder().decode(r.stderr).trim()}`, {
        code: "build.grab-copy",
        context: { layer: opts.layer, path: opts.path },
      });
    }
  });
}

/**
 * Registers the manifests `cache` points at as gc roots of the output layout, kept while the cache
 * file exists: another stacker dir's gc of a shared layout then keeps this one's untagged
 * (build_only) manifests. Call it holding the layout.
 */
export async function registerCacheRoots(output: BuildServices["output"], cache: BuildCache): Promise<void> {
  const owner = cache.path.replace(/\/[^/]*$/, "");
  await output.setRoots(owner, cache.path, cache.entries().flatMap((e) => Object.values(e.manifests)));
}

/**
 * Removes blobs no tag or cache entry (of any stacker dir that registered its roots) references
 * from the output layout, waiting for every process writing to it, and storage no cache entry
 * uses. Returns what each part reported. Run under the stacker-dir lock.
 */
export async function collectGarbage(
  services: Pick<BuildServices, "output" | "storage">,
  cache: BuildCache,
): Promise<{ layout: unknown; storage: { removed: number } }> {
  const entries = cache.entries();
  {
    await using _held = await services.output.hold();
    await registerCacheRoots(services.output, cache);
  }
  const layout = await services.output.gc(entries.flatMap((e) => Object.values(e.manifests)));
  const storage = await services.storage.gc({ chains: [], names: entries.map((e) => e.snapshot ?? e.name) });
  return { layout, storage };
}
