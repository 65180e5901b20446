/**
 * The contract of an OCI image layout store, as the build, grab, inspect and the base cache use it.
 * `OciLayout` (a layout directory on disk) implements it; tests wrap it to count or fail calls.
 */
import type { Descriptor, Digest } from "./types.ts";

/** What `gc` did; `skipped` names a holder when the layout was in use and gc did not wait. */
export interface GcResult {
  readonly removed: number;
  readonly bytes: number;
  readonly skipped?: string;
}

/** A hold on a layout (`LayoutStore.hold`); `release()` is idempotent, `await using` releases it. */
export interface LayoutHold extends AsyncDisposable {
  release(): void;
}

/**
 * Content-addressed blobs and the tags of an image layout. A blob is visible under its digest only
 * once its bytes were verified; tag changes are atomic, so concurrent taggers lose nothing.
 */
export interface LayoutStore {
  /** The layout directory. */
  readonly dir: string;
  /** True when a blob with `digest` is present (its content is verified when read). */
  hasBlob(digest: Digest): Promise<boolean>;
  /** Stores the stream's bytes (idempotent); digest and size verified when `expected` is given. */
  putBlob(
    stream: ReadableStream<Uint8Array>,
    expected?: { digest: Digest; size: number },
  ): Promise<{ digest: Digest; size: number }>;
  /** Stores `value` as canonical JSON and returns its descriptor. */
  putJson(value: unknown, mediaType: string): Promise<Descriptor>;
  /** A fresh stream of the blob, verified against `desc` as it is read. */
  openBlob(desc: Pick<Descriptor, "digest" | "size">): Promise<ReadableStream<Uint8Array>>;
  /** Reads and parses a JSON blob, verified against `desc`. */
  readJson<T>(desc: Pick<Descriptor, "digest" | "size">): Promise<T>;
  /** The manifest descriptor tagged `tag`, or undefined. */
  resolve(tag: string): Promise<Descriptor | undefined>;
  /** Every tag and the descriptor it names. */
  tags(): Promise<{ name: string; descriptor: Descriptor }[]>;
  /** Points `name` at `desc` (whose blob is present), replacing its previous target. */
  tag(name: string, desc: Descriptor): Promise<void>;
  /** Removes tag `name` (no-op when absent). */
  untag(name: string): Promise<void>;
  /**
   * Holds the layout shared until released, so no gc (of any process) removes what this process
   * stored and has not tagged yet. `bestEffort`: a reader that goes on without a lock it cannot have.
   */
  hold(opts?: { readonly bestEffort?: boolean }): Promise<LayoutHold>;
  /** Registers `manifests` as gc roots of `owner` (replacing its set) while the path `whilePath` exists. */
  setRoots(owner: string, whilePath: string, manifests: readonly Descriptor[]): Promise<void>;
  /**
   * Removes every blob no tag, no `extraRoots` manifest and no registered root set reaches, and
   * orphaned temp files, holding the layout exclusively: waits for every other holder, or with
   * `wait: false` returns at once with `skipped`.
   */
  gc(extraRoots?: readonly Descriptor[], opts?: { readonly wait?: boolean }): Promise<GcResult>;
}
