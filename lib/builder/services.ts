/**
 * The stage functions the build drives. The providers own their contracts: the output layout is an
 * `oci/` `LayoutStore`, the storage backend a `storage/` `Storage` (its rootfs a `Snapshot`), the
 * fetch stage a `transport/` `BaseFetcher`, a generated layer a `layer/` `GeneratedLayer`. So the
 * pipeline in `build_layer.ts` reads as the spec's steps and does not know which backend or
 * transport is behind them. `openServices()` in `_wiring.ts` fills them from the real modules.
 */
import type { LayoutStore } from "../oci/mod.ts";
import type { GeneratedLayer } from "../layer/mod.ts";
import type { Snapshot, Storage } from "../storage/mod.ts";
import type { BaseFetcher } from "../transport/mod.ts";
import type { Logger } from "../util/log.ts";
import type { BindSpec, LayerDefinition } from "../stackerfile/mod.ts";

/** How a filesystem-image layer is packed. */
export interface PackFsLayerOptions {
  readonly type: "squashfs" | "erofs";
  readonly sourceDateEpoch?: number;
  /** Append dm-verity data and annotate the root hash. */
  readonly verity: boolean;
}

/** One run of a layer's script in a container. */
export interface RunLayerOptions {
  readonly layer: LayerDefinition;
  /** The stacker file the layer came from (for messages). */
  readonly file: string;
  readonly snapshot: Snapshot;
  readonly importDir: string;
  readonly binds: readonly BindSpec[];
  readonly env: Readonly<Record<string, string>>;
  readonly onRunFailure?: string;
  readonly log: Logger;
  readonly signal?: AbortSignal;
}

/** The stage functions of the other folders, as the build calls them. */
export interface BuildServices {
  /** The output layout (`--oci-dir`). */
  readonly output: LayoutStore;
  readonly storage: Storage;
  /** Fetches a layer's `from` (into the base cache for docker/oci bases). */
  readonly fetchBase: BaseFetcher;
  /** Applies one layer blob to `dir`, verifying `diffId`. */
  unpackLayer(
    open: () => Promise<ReadableStream<Uint8Array>>,
    dir: string,
    opts: { mediaType: string; digest: string; diffId?: string; whiteouts: "overlay" | "apply" },
  ): Promise<void>;
  /** Applies a (possibly compressed) rootfs tarball to `dir`. */
  unpackTar(path: string, dir: string): Promise<void>;
  /** undefined when nothing changed. */
  generateLayer(
    input: Snapshot["diff"],
    opts: { sourceDateEpoch?: number },
  ): Promise<GeneratedLayer | undefined>;
  /**
   * Packs `dir`, an overlay-style tree (whiteouts are 0/0 char devices, opaque dirs carry the
   * overlay xattr), into one filesystem-image layer, even when `dir` is empty (a converted empty
   * layer keeps its place in the image).
   */
  packFsLayer(dir: string, opts: PackFsLayerOptions): Promise<GeneratedLayer>;
  /** The environment the run script sees (spec §1.10). */
  buildEnvironment(layer: LayerDefinition, hostEnv: Readonly<Record<string, string>>): Record<string, string>;
  /** Runs the layer's script; throws RuntimeError naming the layer and file on failure. */
  runLayer(opts: RunLayerOptions): Promise<void>;
  /** Runs `generate_labels` in a throw-away snapshot of the committed layer and returns the labels. */
  generateLabels(
    layer: LayerDefinition,
    snapshot: Snapshot,
    opts: { log: Logger; signal?: AbortSignal },
  ): Promise<Record<string, string>>;
  /** Host-side access to a snapshot's files, for stacker:// reads: the rootfs as a plain path. */
  withHostView<T>(snapshot: Snapshot, fn: (rootfs: string) => Promise<T>): Promise<T>;
}
