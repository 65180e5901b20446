/**
 * Fills the build's ports from the real modules (stackerfile, oci, transport, layer, storage,
 * runtime). Kept in one file so the pipeline never imports a sibling's internals.
 */
import { NotImplementedError } from "../util/errors.ts";
import { redactSecrets } from "../util/secrets.ts";
import type { Logger } from "../util/log.ts";
import type { Progress } from "../util/progress.ts";
import type { PlannedLayer } from "./layer_context.ts";
import type { BuildServices } from "./services.ts";
import { realStages } from "./_stages.ts";
import { describeHolder, type LayoutStore, OciLayout } from "../oci/mod.ts";
import { baseFetcher } from "../transport/mod.ts";
import { isUrl, loadStackerFiles } from "../stackerfile/mod.ts";
import { openStorage, type Storage, type StorageType } from "../storage/mod.ts";
import { gitVersion } from "./git_version.ts";

export interface LoadPlanOptions {
  readonly files: readonly string[];
  readonly substitute: readonly string[];
  readonly substituteFile?: string;
  readonly requireHash: boolean;
  readonly dirs: { readonly ociDir: string; readonly stackerDir: string; readonly rootsDir: string };
  readonly log: Logger;
  /** The caller's environment (git finds its tools and the user's own config with it). */
  readonly env?: Readonly<Record<string, string>>;
}

/** The layers of `files` and their prerequisites in build order (from `stackerfile/`). */
export async function loadPlan(opts: LoadPlanOptions): Promise<PlannedLayer[]> {
  const plan = await loadStackerFiles(opts.files, {
    substitute: opts.substitute,
    substituteFile: opts.substituteFile,
    requireHash: opts.requireHash,
    dirs: opts.dirs,
    log: opts.log,
  });
  const files = new Map(plan.files.map((f) => [f.path, f]));
  const versions = new Map<string, string | undefined>();
  let warned = false;
  const onRefused = (message: string) => {
    if (!warned) opts.log.warn(message);
    warned = true;
  };
  const out: PlannedLayer[] = [];
  for (const l of plan.layers) {
    const file = files.get(l.file);
    if (!versions.has(l.file)) {
      const version = file && !isUrl(file.path)
        ? await gitVersion(file.dir, { env: opts.env, onRefused })
        : undefined;
      versions.set(l.file, version);
    }
    out.push({
      def: l,
      file: l.file,
      // A --substitute-secret value shows as its ${{KEY}} again: the annotation never holds it.
      stackerYaml: redactSecrets(file?.text ?? ""),
      gitVersion: versions.get(l.file),
    });
  }
  return out;
}

export interface OpenServicesOptions {
  readonly ociDir: string;
  readonly stackerDir: string;
  readonly rootsDir: string;
  readonly storageType?: StorageType;
  /** The host environment (registry auth files). */
  readonly env?: Readonly<Record<string, string>>;
  /** Name LXC logs in run failures. */
  readonly debug?: boolean;
  readonly log: Logger;
  /** Per-blob progress of base downloads. */
  readonly progress?: Progress;
  /** How long to wait for the output layout's lock (a gc in another process); default 1 hour. */
  readonly lockTimeoutMs?: number;
}

/**
 * The real stage implementations: lib/oci for the output layout, lib/transport for bases, lib/layer
 * and lib/runtime for unpack, generate and the run. The storage backend comes from lib/storage.
 */
export async function openServices(opts: OpenServicesOptions): Promise<BuildServices> {
  const storage = await openStorage({
    rootsDir: opts.rootsDir,
    stackerDir: opts.stackerDir,
    type: opts.storageType,
    log: opts.log,
  });
  const output = await OciLayout.open(opts.ociDir, {
    create: true,
    timeoutMs: opts.lockTimeoutMs,
    onWait: (holder, path) => {
      opts.log.info(`waiting for lock held by ${describeHolder(holder)} on ${path} (a gc of the layout)`);
    },
  });
  return {
    output,
    storage,
    fetchBase: baseFetcher({ stackerDir: opts.stackerDir, env: opts.env ?? {}, progress: opts.progress }),
    ...realStages({ stackerDir: opts.stackerDir, debug: opts.debug, log: opts.log }),
    withHostView: hostViewOf(storage, opts.stackerDir),
  };
}

/**
 * A plain host path of a snapshot's whole rootfs, for stacker:// imports and grab. A tree snapshot
 * (copy) is one already; an overlay snapshot is materialised into a scratch copy under the stacker
 * dir (storage mounts it in a private mount namespace), which is removed afterwards.
 */
export function hostViewOf(
  storage: Pick<Storage, "materialize">,
  scratchDir: string,
): BuildServices["withHostView"] {
  return async (snapshot, fn) => {
    if (snapshot.diff.kind === "trees") return await fn(snapshot.diff.rootfs);
    if (!storage.materialize) {
      throw new NotImplementedError(
        "reading files of an overlay snapshot from the host (stacker:// imports, grab)",
      );
    }
    await Deno.mkdir(scratchDir, { recursive: true });
    const dir = await Deno.makeTempDir({ dir: scratchDir, prefix: ".view-" });
    try {
      await storage.materialize(snapshot, `${dir}/rootfs`);
      return await fn(`${dir}/rootfs`);
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  };
}

/** `hostViewOf` for tree snapshots only (tests and backends without a merged view). */
export const hostView: BuildServices["withHostView"] = hostViewOf({}, "/nonexistent");

/** The output layout, from `oci/` (throws OciError `oci.not-layout` when there is none at `dir`). */
export async function openLayout(dir: string, opts: { create?: boolean } = {}): Promise<LayoutStore> {
  return await OciLayout.open(dir, opts);
}
