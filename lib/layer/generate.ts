/**
 * Generating a layer from what changed: an overlay upper directory, or a rootfs compared with its
 * base. The change list (metadata only) is computed first, so "nothing changed" is known before a
 * byte is produced; then the tar is streamed: entries in depth-first name order, hardlinks kept,
 * PAX where needed, OCI whiteouts, compressed, with diff_id and digest computed as bytes flow.
 *
 * Determinism is decided here: name order, empty uname/gname, whole-second mtimes clamped to
 * `sourceDateEpoch`, whiteouts with mtime 0 owned by 0:0 and a fixed compression level.
 */
import { type Logger, silentLogger } from "../util/log.ts";
import { compress, type Compression, digester, tarMediaType } from "./_compression.ts";
import { fsOpsFor } from "./fs_ops.ts";
import type { GeneratedLayer } from "./squashfs.ts";
import { tarChunks } from "./tar_chunks.ts";
import { type Change, type GenerateInput, walkChanges } from "./tree_walker.ts";

export type { GeneratedLayer } from "./squashfs.ts";
export type { GenerateInput } from "./tree_walker.ts";

export interface GenerateOptions {
  /** Default "gzip". */
  compression?: Compression;
  /** Compression level (gzip default 6, zstd default 3). */
  level?: number;
  /**
   * gzip worker threads (default: up to 4, started only once the layer passes 4 MiB). The bytes
   * produced do not depend on it.
   */
  workers?: number;
  /**
   * Unprivileged tree (default: effective uid is not 0): owners come from the
   * `user.rootlesscontainers` xattr an unprivileged unpack recorded, else 0:0, as with
   * `umoci repack --rootless`. That xattr is never written to the layer.
   */
  rootless?: boolean;
  /** Clamp mtimes to this many seconds since the epoch: same inputs, same digest. */
  sourceDateEpoch?: number;
  log?: Logger;
}

/**
 * The changes as a layer blob, or undefined when nothing changed. The caller must pipe `stream`
 * to the end (or cancel it); `done` then resolves with the digests, or rejects with the stream's
 * error (e.g. a file that changed size while it was read: `layer.changed-while-reading`).
 */
export async function generateLayer(
  input: GenerateInput,
  opts: GenerateOptions = {},
): Promise<GeneratedLayer | undefined> {
  const changes = walkChanges(input, fsOpsFor(opts.rootless), opts.log ?? silentLogger);
  // The walk goes on while the first entries are packed: only "is there any change?" is awaited.
  const first = await changes.next();
  if (first.done) return undefined;
  return streamLayer(prepend(first.value, changes), opts);
}

async function* prepend(first: Change, rest: AsyncGenerator<Change>): AsyncGenerator<Change> {
  yield first;
  yield* rest;
}

function streamLayer(changes: AsyncIterable<Change>, opts: GenerateOptions): GeneratedLayer {
  const compression = opts.compression ?? "gzip";
  const tar = digester();
  const blob = digester();
  const workers = opts.workers ?? Math.min(4, navigator.hardwareConcurrency ?? 1);
  const stream = compress(
    ReadableStream.from(tarChunks(changes, opts.sourceDateEpoch)).pipeThrough(tar.stream),
    compression,
    { level: opts.level, workers },
  ).pipeThrough(blob.stream);
  const done = Promise.all([tar.result, blob.result]).then(([t, b]) => ({
    diffId: t.digest,
    digest: b.digest,
    size: b.size,
    mediaType: tarMediaType(compression),
  }));
  done.catch(() => {});
  return { stream, done };
}

/** Used by squashfs unpacking: the entries of a tree as a plain tar stream (overlay whiteouts → OCI). */
export async function upperAsTar(upper: string): Promise<ReadableStream<Uint8Array> | undefined> {
  const g = await generateLayer({ kind: "overlay-upper", upper }, { compression: "none" });
  return g?.stream;
}
