/**
 * The contract of an OCI image layout store, as the build, grab, inspect and the base cache use it.
 * `OciLayout` (a layout directory on disk) implements it; tests wrap it to count or fail calls.
 */
import type { Descriptor, Digest } from "./types.ts";

/** What `gc` did. */
export interface GcResult {
  readonly removed: number;
  readonly bytes: number;
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
  /** Removes every blob no tag and no `extraRoots` manifest reaches. */
  gc(extraRoots?: readonly Descriptor[]): Promise<GcResult>;
}
