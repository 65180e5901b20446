/**
 * The one durability helper: every layout, index and cache file is written through here, so a
 * kill -9 at any moment leaves either the old or the new content, never a truncated file. Blob
 * bytes are written here too, in large batches (`writeCoalesced`).
 */
import { OciError } from "../util/errors.ts";
import { dirname } from "../util/path.ts";

/** errno codes that mean the storage under a layout failed, not the data or the network. */
const STORAGE_CODES: Readonly<Record<string, string>> = {
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EIO: "input/output error",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
};

/**
 * `err` as an OciError naming what was being written (`oci.no-space` for a full disk or quota,
 * `oci.write-failed` otherwise) when it is a storage errno; otherwise `err` unchanged.
 */
export function storageError(err: unknown, action: string, context: Record<string, unknown> = {}): unknown {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== "string" || !(code in STORAGE_CODES) || err instanceof OciError) return err;
  return new OciError(`Cannot ${action}: ${STORAGE_CODES[code]}`, {
    code: code === "ENOSPC" || code === "EDQUOT" ? "oci.no-space" : "oci.write-failed",
    cause: err,
    context: { ...context, errno: code },
  });
}

/** Opens `dir` and fsyncs it, so a rename into it survives a power loss. */
export async function syncDir(dir: string): Promise<void> {
  const f = await Deno.open(dir, { read: true });
  try {
    await f.sync();
  } finally {
    f.close();
  }
}

function tempName(path: string): string {
  return `${path}.tmp-${Deno.pid}-${crypto.randomUUID().slice(0, 8)}`;
}

/**
 * Replaces `path` atomically with `data`: a temp file in the same directory, fsync, rename over
 * `path`, then fsync of the directory. A stream is written as it arrives (not buffered). On any
 * failure the temp file is removed and `path` is unchanged. `mode` defaults to 0o644.
 */
export async function atomicWriteFile(
  path: string,
  data: Uint8Array | string | ReadableStream<Uint8Array>,
  opts: { mode?: number } = {},
): Promise<void> {
  const tmp = tempName(path);
  const file = await Deno.open(tmp, { write: true, createNew: true, mode: opts.mode ?? 0o644 });
  let closed = false;
  try {
    if (data instanceof ReadableStream) {
      for await (const chunk of data) await writeAll(file, chunk);
    } else {
      await writeAll(file, typeof data === "string" ? new TextEncoder().encode(data) : data);
    }
    await file.sync();
    file.close();
    closed = true;
    await Deno.rename(tmp, path);
  } catch (err) {
    if (!closed) file.close();
    await Deno.remove(tmp).catch(() => {});
    throw storageError(err, `write "${path}"`, { path });
  }
  await syncDir(dirname(path));
}

/** Writes all of `data` to `file` (FsFile.write may write less than asked). */
export async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.byteLength) off += await file.write(data.subarray(off));
}

const WRITE_BATCH = 1 << 20;

/**
 * Writes `stream` to `file` in batches of about 1 MiB (network chunks are small, syscalls are not
 * free), keeping one write in flight while the next batch is read and hashed.
 */
export async function writeCoalesced(file: Deno.FsFile, stream: ReadableStream<Uint8Array>): Promise<void> {
  let pending: Promise<void> = Promise.resolve();
  let batch = new Uint8Array(WRITE_BATCH);
  let fill = 0;
  const flush = async (data: Uint8Array) => {
    await pending;
    pending = writeAll(file, data);
    // a failed write must surface even if no later flush awaits it
    pending.catch(() => {});
  };
  try {
    for await (const chunk of stream) {
      if (fill + chunk.byteLength > WRITE_BATCH && fill > 0) {
        await flush(batch.subarray(0, fill));
        batch = new Uint8Array(WRITE_BATCH);
        fill = 0;
      }
      if (chunk.byteLength >= WRITE_BATCH) {
        await flush(chunk);
        continue;
      }
      batch.set(chunk, fill);
      fill += chunk.byteLength;
    }
    if (fill > 0) await flush(batch.subarray(0, fill));
  } finally {
    await pending;
  }
}
