/**
 * The seams between the build and the stages it drives. Each port is the part of another folder's
 * public API the build calls (names and shapes as those folders document them), so the pipeline in
 * `build_layer.ts` reads as the spec's steps and does not know which backend or transport is behind
 * a port. `openServices()` in `_wiring.ts` fills them from the real modules.
 */
import type { Descriptor, Digest, ImageConfig, Manifest } from "../oci/types.ts";
import type { Logger } from "../util/log.ts";
import type { BaseSpec, BindSpec, LayerDefinition } from "../stackerfile/mod.ts";

/** The OCI image layout store (`oci/` `OciLayout`): verified blobs, atomic tags under a lock. */
export interface LayoutPort {
  readonly dir: string;
  /** Stores the stream's bytes; digest and size verified when `expected` is given. */
  putBlob(
    stream: ReadableStream<Uint8Array>,
    expected?: { digest: Digest; size: number },
  ): Promise<{ digest: Digest; size: number }>;
  putJson(value: unknown, mediaType: string): Promise<Descriptor>;
  hasBlob(digest: Digest): Promise<boolean>;
  /** A fresh stream, verified against `desc` as it is read. */
  openBlob(desc: Descriptor): Promise<ReadableStream<Uint8Array>>;
  readJson<T>(desc: Descriptor): Promise<T>;
  /** The manifest descriptor tagged `tag`, or undefined. */
  resolve(tag: string): Promise<Descriptor | undefined>;
  tags(): Promise<{ name: string; descriptor: Descriptor }[]>;
  tag(name: string, desc: Descriptor): Promise<void>;
  untag(name: string): Promise<void>;
  /** Removes blobs reachable from no tag and no `extraRoots` manifest. */
  gc(extraRoots?: readonly Descriptor[]): Promise<unknown>;
}

/** A base, fetched: an image in the cache layout, a rootfs tarball, nothing, or a layer of this build. */
export type FetchedBase =
  | {
    readonly kind: "image";
    readonly layout: LayoutPort;
    readonly manifestDescriptor: Descriptor;
    readonly manifest: Manifest;
    readonly config: ImageConfig;
  }
  | { readonly kind: "tar"; readonly path: string; readonly digest: string }
  | { readonly kind: "scratch" }
  | { readonly kind: "built"; readonly tag: string };

export interface FetchBaseOptions {
  readonly os: string;
  readonly arch: string;
  /** Resolves `stacker://<layer>/<path>` tar urls to a host file. */
  readonly readStackerPath: (layer: string, path: string, dest: string) => Promise<void>;
  readonly log: Logger;
  readonly signal?: AbortSignal;
}

/** What the runtime mounts as the rootfs, and what the layer engine diffs. */
export interface SnapshotPort {
  readonly name: string;
  readonly lxcRootfs: { readonly path: string; readonly options?: string };
  readonly diff:
    | { readonly kind: "overlay-upper"; readonly upper: string }
    | { readonly kind: "trees"; readonly base: string; readonly rootfs: string };
}

/** The storage backend (`storage/` `Storage`). */
export interface StoragePort {
  readonly kind: "overlay" | "btrfs" | "copy";
  ensureLayers(
    chain: readonly Digest[],
    unpack: (dir: string, whiteouts: "overlay" | "apply", index: number) => Promise<void>,
  ): Promise<void>;
  prepare(
    name: string,
    base: { chain: readonly Digest[] } | { built: string } | { scratch: true },
  ): Promise<SnapshotPort>;
  commit(name: string): Promise<void>;
  tempSnapshot(name: string): Promise<SnapshotPort & AsyncDisposable>;
  delete(name: string): Promise<void>;
  list(): Promise<{ layers: string[]; names: string[] }>;
  gc(keep: { chains: Digest[][]; names: string[] }): Promise<{ removed: number }>;
}

/** A layer generated from a diff: compressed bytes to store once, and their digests when done. */
export interface GeneratedLayerPort {
  readonly stream: ReadableStream<Uint8Array>;
  readonly done: Promise<{
    diffId: Digest;
    digest: Digest;
    size: number;
    mediaType: string;
    /** Descriptor annotations (the verity root hash of a filesystem-image layer). */
    annotations?: Record<string, string>;
  }>;
}

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
  readonly snapshot: SnapshotPort;
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
  readonly output: LayoutPort;
  readonly storage: StoragePort;
  fetchBase(from: BaseSpec, opts: FetchBaseOptions): Promise<FetchedBase>;
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
    input: SnapshotPort["diff"],
    opts: { sourceDateEpoch?: number },
  ): Promise<GeneratedLayerPort | undefined>;
  /**
   * Packs `dir`, an overlay-style tree (whiteouts are 0/0 char devices, opaque dirs carry the
   * overlay xattr), into one filesystem-image layer, even when `dir` is empty (a converted empty
   * layer keeps its place in the image).
   */
  packFsLayer(dir: string, opts: PackFsLayerOptions): Promise<GeneratedLayerPort>;
  /** The environment the run script sees (spec §1.10). */
  buildEnvironment(layer: LayerDefinition, hostEnv: Readonly<Record<string, string>>): Record<string, string>;
  /** Runs the layer's script; throws RuntimeError naming the layer and file on failure. */
  runLayer(opts: RunLayerOptions): Promise<void>;
  /** Runs `generate_labels` in a throw-away snapshot of the committed layer and returns the labels. */
  generateLabels(
    layer: LayerDefinition,
    snapshot: SnapshotPort,
    opts: { log: Logger; signal?: AbortSignal },
  ): Promise<Record<string, string>>;
  /** Host-side access to a snapshot's files, for stacker:// reads: the rootfs as a plain path. */
  withHostView<T>(snapshot: SnapshotPort, fn: (rootfs: string) => Promise<T>): Promise<T>;
}
