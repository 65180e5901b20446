/**
 * Unpacking tar layers into a rootfs: decompress → hash (diff_id) → untar → apply, streaming.
 * The entries are applied by `LayerApplier`: every name goes through `RootResolver` (chroot
 * semantics) and every host-side change through the session's `FsOps`, chosen once for root or
 * rootless.
 */
import { LayerError, StackerError } from "../util/errors.ts";
import { type Logger, silentLogger } from "../util/log.ts";
import { MediaType } from "../oci/types.ts";
import { compressionOf, decompress, digester } from "./_compression.ts";
import { TarReader } from "./_tar_reader.ts";
import type { TarEntry } from "./_tar_header.ts";
import { LayerApplier } from "./layer_applier.ts";
import { UnpackSession } from "./unpack_session.ts";
import { extractSquashfs } from "./squashfs.ts";
import { upperAsTar } from "./generate.ts";

/** Opens a fresh stream of the (compressed) layer blob on each call. */
export type LayerOpener = () => Promise<ReadableStream<Uint8Array>> | ReadableStream<Uint8Array>;

/** Resource limits for one layer (and, in `unpackImage`, for the whole image). */
export interface UnpackBudget {
  /** Uncompressed bytes per layer (default 64 GiB). */
  maxBytes?: number;
  /** Entries per layer (default 4,000,000). */
  maxEntries?: number;
  /** Longest entry name in bytes (default 4096). */
  maxPathLength?: number;
  /** Uncompressed bytes over all layers of an image (default 256 GiB; unpackImage only). */
  maxImageBytes?: number;
}

export interface UnpackOptions {
  /** The layer's media type: gzip, zstd, plain tar or squashfs; checked against the magic bytes. */
  mediaType: string;
  /** The blob digest, for error messages only (the blob is verified by whoever opens it). */
  digest?: string;
  /** Expected sha256 of the uncompressed tar; a mismatch fails with `layer.diffid-mismatch`. */
  diffId?: string;
  /** "apply" deletes what whiteouts name; "overlay" turns them into overlayfs whiteouts. */
  whiteouts: "apply" | "overlay";
  /**
   * Unprivileged extraction: tar owners are not applied, device nodes are skipped (one warning per
   * layer). Default: true when the effective uid is not 0 (root of a user namespace counts as root).
   */
  rootless?: boolean;
  /** xattr namespace of overlay opaque markers in "overlay" mode (default "user", as with `userxattr`). */
  overlayXattrNamespace?: "user" | "trusted";
  log?: Logger;
  signal?: AbortSignal;
  budget?: UnpackBudget;
}

export interface UnpackStats {
  /** Entries read from the tar (meta-entries not counted). */
  entries: number;
  /** Uncompressed tar bytes. */
  bytes: number;
  /** sha256 of the uncompressed tar. */
  diffId: string;
  /** Device nodes skipped because extraction was unprivileged. */
  skippedDevices: number;
}

const DEFAULTS = {
  maxBytes: 64 * 2 ** 30,
  maxEntries: 4_000_000,
  maxPathLength: 4096,
  maxImageBytes: 256 * 2 ** 30,
};

/**
 * Applies one layer to `rootfs`, streaming. Guarantees: nothing outside `rootfs` is created,
 * changed or deleted (entry names, hardlink targets, whiteouts and parents resolve with chroot
 * semantics; `..` names are refused); the uncompressed bytes are hashed and compared with
 * `opts.diffId` at the end. Throws `LayerError` naming the layer digest and the entry. On any
 * error the rootfs is partly written and must be discarded by the caller.
 */
export async function unpackLayer(
  open: LayerOpener,
  rootfs: string,
  opts: UnpackOptions,
): Promise<UnpackStats> {
  const session = await UnpackSession.open(rootfs, opts.rootless);
  let stats: UnpackStats;
  try {
    stats = await applyLayer(open, session, opts);
  } catch (e) {
    tryFinish(session);
    throw e;
  }
  session.finish();
  return stats;
}

/** One layer of an image for `unpackImage`. */
export interface ImageLayer {
  open: LayerOpener;
  mediaType: string;
  digest?: string;
  diffId?: string;
}

/**
 * Applies `layers` in order to `rootfs`. Directory modes and mtimes are applied once at the end,
 * so a mode-000 directory of one layer can still receive files from the next when unprivileged.
 */
export async function unpackImage(
  layers: readonly ImageLayer[],
  rootfs: string,
  opts: Omit<UnpackOptions, "mediaType" | "digest" | "diffId">,
): Promise<UnpackStats[]> {
  const session = await UnpackSession.open(rootfs, opts.rootless);
  const out: UnpackStats[] = [];
  try {
    for (const l of layers) {
      out.push(
        await applyLayer(l.open, session, {
          ...opts,
          mediaType: l.mediaType,
          digest: l.digest,
          diffId: l.diffId,
        }),
      );
    }
  } catch (e) {
    tryFinish(session);
    throw e;
  }
  session.finish();
  return out;
}

async function applyLayer(
  open: LayerOpener,
  session: UnpackSession,
  opts: UnpackOptions,
): Promise<UnpackStats> {
  const log = opts.log ?? silentLogger;
  const budget = { ...DEFAULTS, ...opts.budget };
  const ctx = { digest: opts.digest, mediaType: opts.mediaType };
  if (opts.mediaType.startsWith(MediaType.squashfs)) {
    return await applySquashfs(open, session, opts);
  }
  const compression = compressionOf(opts.mediaType);
  if (compression === undefined) {
    throw new LayerError(`Cannot unpack layer: unsupported media type "${opts.mediaType}"`, {
      code: "layer.media-type",
      context: ctx,
    });
  }
  const remaining = Math.min(budget.maxBytes, budget.maxImageBytes - session.imageBytes);
  const hash = digester(remaining, ctx);
  const tarStream = decompress(await open(), compression, ctx).pipeThrough(hash.stream);
  const reader = new TarReader(tarStream, { maxPathLength: budget.maxPathLength });
  const layer = new LayerApplier(session, {
    whiteouts: opts.whiteouts,
    overlayXattrNamespace: opts.overlayXattrNamespace,
    digest: opts.digest,
    log,
  });
  let entries = 0;
  let entry: TarEntry | null = null;
  try {
    while ((entry = await reader.next()) !== null) {
      opts.signal?.throwIfAborted();
      if (++entries > budget.maxEntries) {
        throw new LayerError(`Cannot unpack layer: more than ${budget.maxEntries} entries`, {
          code: "layer.budget",
          context: ctx,
        });
      }
      await layer.apply(entry, reader);
    }
  } catch (e) {
    await reader.cancel(e);
    throw wrap(e, opts, entry?.name);
  }
  const { digest, size } = await hash.result;
  session.imageBytes += size;
  if (opts.diffId !== undefined && opts.diffId !== digest) {
    throw new LayerError(
      `Cannot unpack layer: diff_id mismatch, expected "${opts.diffId}", got "${digest}"`,
      {
        code: "layer.diffid-mismatch",
        context: { ...ctx, expected: opts.diffId, actual: digest },
      },
    );
  }
  return { entries, bytes: size, diffId: digest, skippedDevices: layer.skippedDevices };
}

/**
 * squashfs layers hold overlay-style whiteouts: extract with unsquashfs to a temp tree, then apply
 * that tree as a tar through the same confined path as any other layer. The diff_id of a squashfs
 * layer is the digest of the blob.
 */
async function applySquashfs(
  open: LayerOpener,
  session: UnpackSession,
  opts: UnpackOptions,
): Promise<UnpackStats> {
  const tmp = await Deno.makeTempDir({ prefix: "stacker-sqfs-tree-" });
  try {
    const blob = await extractSquashfs(await open(), `${tmp}/tree`);
    if (opts.diffId !== undefined && opts.diffId !== blob.digest) {
      throw new LayerError(
        `Cannot unpack layer: diff_id mismatch, expected "${opts.diffId}", got "${blob.digest}"`,
        {
          code: "layer.diffid-mismatch",
          context: { digest: opts.digest, expected: opts.diffId, actual: blob.digest },
        },
      );
    }
    const tar = await upperAsTar(`${tmp}/tree`);
    if (tar === undefined) return { entries: 0, bytes: blob.size, diffId: blob.digest, skippedDevices: 0 };
    const stats = await applyLayer(() => tar, session, {
      ...opts,
      mediaType: MediaType.ociLayer,
      diffId: undefined,
    });
    return { ...stats, bytes: blob.size, diffId: blob.digest };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

function wrap(e: unknown, opts: UnpackOptions, entry: string | undefined): unknown {
  const context = { digest: opts.digest, ...(entry === undefined ? {} : { entry }) };
  if (e instanceof StackerError) {
    if (e instanceof LayerError && e.context.digest !== undefined) return e;
    return new LayerError(e.message, {
      code: e.code,
      context: { ...e.context, ...context },
      cause: e.cause ?? e,
    });
  }
  if (e instanceof DOMException && e.name === "AbortError") return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new LayerError(`Cannot unpack entry "${entry ?? "?"}": ${msg}`, {
    code: "layer.write",
    context,
    cause: e,
  });
}

/** Applies deferred metadata after a failure, keeping the first error. */
function tryFinish(session: UnpackSession): void {
  try {
    session.finish();
  } catch { /* the rootfs is discarded anyway; the original error is what matters */ }
}
