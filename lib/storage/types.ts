/**
 * The contract every storage backend (overlay, btrfs, copy) keeps: the build, grab, chroot and
 * clean use a backend only through `Storage`, so none of them asks which backend is open.
 */
import type { Digest } from "../oci/types.ts";

/** The backends, as `--storage-type` names them. */
export type StorageType = "overlay" | "btrfs" | "copy";

/** A writable rootfs: what the runtime mounts (`lxcRootfs`) and what the layer engine diffs (`diff`). */
export interface Snapshot {
  readonly name: string;
  readonly lxcRootfs: { readonly path: string; readonly options?: string };
  readonly diff:
    | { readonly kind: "overlay-upper"; readonly upper: string }
    | { readonly kind: "trees"; readonly base: string; readonly rootfs: string };
}

/**
 * Unpacks layer `index` of a chain into `dir`: overlay-style whiteouts (0/0 char devices and the
 * opaque xattr, for a stacked lower dir) or applied ones (for a chain unpacked into one tree).
 */
export type UnpackFn = (dir: string, whiteouts: "overlay" | "apply", index: number) => Promise<void>;

/** What a snapshot starts from: an unpacked base chain, a committed layer, or nothing. */
export type BaseRef = { chain: readonly Digest[] } | { built: string } | { scratch: true };

/**
 * A storage backend over one roots dir; `openStorage` picks it once. Every mutation holds the roots
 * dir's lock, and a crash at any moment leaves nothing half-made that a later call would trust.
 */
export interface Storage {
  readonly kind: StorageType;
  /** Unpacks every layer of `chain` that is not unpacked yet (through `unpack`), each once. */
  ensureLayers(chain: readonly Digest[], unpack: UnpackFn): Promise<void>;
  /** A fresh writable rootfs for layer `name` over `base`, replacing any earlier one of that name. */
  prepare(name: string, base: BaseRef): Promise<Snapshot>;
  /** Makes the prepared rootfs of `name` the committed layer `name` (what `built` children start from). */
  commit(name: string): Promise<void>;
  /** A throw-away writable rootfs over the committed layer `name`, removed when disposed. */
  tempSnapshot(name: string): Promise<Snapshot & AsyncDisposable>;
  /** Removes the prepared and the committed rootfs of `name`. */
  delete(name: string): Promise<void>;
  /** The unpacked base layers or chains, and the names of the committed layers. */
  list(): Promise<{ layers: string[]; names: string[] }>;
  /** Removes what no kept chain or name needs (a kept layer keeps what it stands on). */
  gc(keep: { chains: Digest[][]; names: string[] }): Promise<{ removed: number }>;
  /** Removes everything this backend made under the roots dir. */
  clean(): Promise<void>;
  /**
   * Copies the merged view of `snapshot` into the new directory `dest`; only backends whose
   * snapshots are not plain trees (overlay) have it.
   */
  materialize?(snapshot: Snapshot, dest: string): Promise<void>;
}
