/**
 * Layer compression: media type → codec, magic-byte checks, node:zlib streams adapted to web
 * streams with backpressure, and a hashing/counting pass-through with a byte budget.
 *
 * gzip goes through node:zlib because `DecompressionStream("gzip")` stops after the first member;
 * node's gunzip reads concatenated members and checks each member's CRC and length.
 */
import * as zlib from "node:zlib";
import { createHash } from "node:crypto";
import { LayerError } from "../util/errors.ts";
import { MediaType } from "../oci/types.ts";

export type Compression = "gzip" | "zstd" | "none";

/** The codec a tar layer media type implies; undefined for media types that are not tar layers. */
export function compressionOf(mediaType: string): Compression | undefined {
  if (mediaType.startsWith(MediaType.squashfs)) return undefined;
  if (mediaType.endsWith("+gzip") || mediaType.endsWith(".tar.gzip")) return "gzip";
  if (mediaType.endsWith("+zstd")) return "zstd";
  if (mediaType.endsWith(".tar") || mediaType.endsWith(".v1.tar")) return "none";
  return undefined;
}

/** The media type of an OCI tar layer with `c` compression. */
export function tarMediaType(c: Compression): string {
  return c === "gzip" ? MediaType.ociLayerGzip : c === "zstd" ? MediaType.ociLayerZstd : MediaType.ociLayer;
}

function sniff(b: Uint8Array): Compression | "unknown" {
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return "gzip";
  if (b.length >= 4 && b[0] === 0x28 && b[1] === 0xb5 && b[2] === 0x2f && b[3] === 0xfd) return "zstd";
  return "unknown";
}

type NodeTransform = ReturnType<typeof zlib.createGunzip>;

/** Runs `input` through a node:zlib transform, honouring backpressure on both sides. */
function throughNode(
  input: ReadableStream<Uint8Array>,
  z: NodeTransform,
  wrap: (e: unknown) => unknown,
): ReadableStream<Uint8Array> {
  const reader = input.getReader();
  let closed = false;
  return new ReadableStream<Uint8Array>({
    start(c) {
      z.on("data", (d: Uint8Array) => {
        if (closed) return;
        c.enqueue(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
        if ((c.desiredSize ?? 1) <= 0) z.pause();
      });
      z.on("end", () => {
        if (!closed) (closed = true, c.close());
      });
      z.on("error", (e: unknown) => {
        if (!closed) (closed = true, c.error(wrap(e)));
        reader.cancel(e).catch(() => {});
      });
      (async () => {
        try {
          for (;;) {
            const r = await reader.read();
            if (r.done) break;
            if (!z.write(r.value)) {
              await new Promise<void>((res) => {
                const done = () => (z.off("drain", done), z.off("close", done), res());
                z.on("drain", done);
                z.on("close", done);
              });
            }
            if (closed) return;
          }
          z.end();
        } catch (e) {
          if (!closed) (closed = true, c.error(e));
          z.destroy();
        }
      })();
    },
    pull() {
      z.resume();
    },
    cancel(reason) {
      closed = true;
      z.destroy();
      return reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 8 });
}

/**
 * Decompresses `input` as `expected` after checking its magic bytes: a gzip or zstd media type
 * whose bytes are something else, or a plain tar that is compressed, fails with
 * `layer.bad-compression`.
 */
export function decompress(
  input: ReadableStream<Uint8Array>,
  expected: Compression,
  context: Record<string, string | undefined>,
): ReadableStream<Uint8Array> {
  const checked = input.pipeThrough(magicCheck(expected, context));
  if (expected === "none") return checked;
  const z = expected === "gzip" ? zlib.createGunzip({ chunkSize: 128 << 10 }) : zlib.createZstdDecompress();
  return throughNode(
    checked,
    z as NodeTransform,
    (cause) =>
      new LayerError(`Cannot decompress layer: corrupt ${expected} stream`, {
        code: "layer.bad-compression",
        context,
        cause,
      }),
  );
}

function magicCheck(expected: Compression, context: Record<string, string | undefined>) {
  let first = true;
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, c) {
      if (first && chunk.length > 0) {
        first = false;
        const got = sniff(chunk);
        const ok = expected === "none" ? got === "unknown" : got === expected;
        if (!ok) {
          throw new LayerError(
            `Cannot unpack layer: media type says "${expected}" but the bytes are "${
              got === "unknown" ? "not compressed" : got
            }"`,
            { code: "layer.bad-compression", context },
          );
        }
      }
      c.enqueue(chunk);
    },
  });
}

const SAMPLE = 16 << 10;

function shrinks(sample: Uint8Array): boolean {
  return zlib.deflateRawSync(sample, { level: 1 }).length < sample.length * 0.99;
}

/**
 * One gzip member for `data`. A block whose start, middle and end do not shrink at level 1
 * (already-compressed content) is stored (level 0) instead of searched at `level`: deterministic,
 * since the choice depends on the bytes only, and stored is what deflate ends up choosing anyway.
 */
export function gzipBlock(data: Uint8Array, level: number): Uint8Array {
  const mid = Math.floor(data.length / 2);
  const incompressible = level > 0 && data.length >= 4 * SAMPLE &&
    !shrinks(data.subarray(0, SAMPLE)) && !shrinks(data.subarray(mid, mid + SAMPLE)) &&
    !shrinks(data.subarray(data.length - SAMPLE));
  const z = zlib.gzipSync(data, { level: incompressible ? 0 : level });
  return new Uint8Array(z.buffer, z.byteOffset, z.byteLength);
}

/** Bytes per gzip member: fixed, so the output does not depend on chunking or worker count. */
export const GZIP_BLOCK = 1 << 20;
/** Blocks compressed on this thread before workers are started. */
const LAZY_BLOCKS = 4;

export interface CompressOptions {
  /** gzip 1-9 (default 6), zstd 1-19 (default 3). */
  level?: number;
  /** Worker threads for gzip (0: compress on this thread). The bytes are the same either way. */
  workers?: number;
}

/**
 * Compresses with `c`. gzip output is a series of independent members of `GZIP_BLOCK` input bytes
 * each (as pigz --independent and eStargz produce; every gzip reader, Go's included, reads them
 * as one stream), so blocks can be compressed in parallel and the result is still deterministic.
 */
export function compress(
  input: ReadableStream<Uint8Array>,
  c: Compression,
  opts: CompressOptions = {},
): ReadableStream<Uint8Array> {
  if (c === "none") return input;
  if (c === "zstd") {
    const z = zlib.createZstdCompress({
      params: { [zlib.constants.ZSTD_c_compressionLevel]: opts.level ?? 3 },
    });
    return throughNode(
      input,
      z as NodeTransform,
      (cause) => new LayerError(`Cannot compress layer with zstd`, { code: "layer.compress", cause }),
    );
  }
  return gzipBlocks(input, opts.level ?? 6, opts.workers ?? 0);
}

function gzipBlocks(
  input: ReadableStream<Uint8Array>,
  level: number,
  workers: number,
): ReadableStream<Uint8Array> {
  const pool: Worker[] = [];
  const waiting = new Map<number, { resolve: (b: Uint8Array) => void; reject: (e: unknown) => void }>();
  const start = () => {
    for (let i = 0; i < workers; i++) {
      const w = new Worker(new URL("./_gzip_worker.ts", import.meta.url), { type: "module" });
      w.onmessage = (e: MessageEvent<{ id: number; out?: Uint8Array; error?: string }>) => {
        const p = waiting.get(e.data.id);
        waiting.delete(e.data.id);
        if (e.data.out) p?.resolve(e.data.out);
        else {p?.reject(
            new LayerError(`Cannot compress layer with gzip: ${e.data.error}`, { code: "layer.compress" }),
          );}
      };
      pool.push(w);
    }
  };
  const stop = () => pool.forEach((w) => w.terminate());
  let nextId = 0;
  let blocks = 0;
  const job = (data: Uint8Array<ArrayBuffer>): Promise<Uint8Array> => {
    // Small layers never pay for worker start-up; the bytes are the same either way.
    if (++blocks === LAZY_BLOCKS && workers > 0) start();
    if (pool.length === 0) return Promise.resolve(gzipBlock(data, level));
    const id = nextId++;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      pool[id % pool.length].postMessage({ id, level, data }, [data.buffer]);
    });
  };
  const inflight: Promise<Uint8Array>[] = [];
  const maxInflight = Math.max(1, workers * 2);
  let block = new Uint8Array(GZIP_BLOCK);
  let fill = 0;
  const reader = input.getReader();
  let done = false;
  let emitted = false;
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      try {
        // Keep up to maxInflight blocks in the workers, then hand out the oldest.
        while (!done && inflight.length < maxInflight) {
          const r = await reader.read();
          if (r.done) {
            done = true;
            if (fill > 0) inflight.push(job(block.slice(0, fill)));
            break;
          }
          let chunk = r.value;
          while (chunk.length > 0) {
            const take = Math.min(chunk.length, GZIP_BLOCK - fill);
            block.set(chunk.subarray(0, take), fill);
            fill += take;
            chunk = chunk.subarray(take);
            if (fill === GZIP_BLOCK) {
              inflight.push(job(block));
              block = new Uint8Array(GZIP_BLOCK);
              fill = 0;
            }
          }
        }
        const head = inflight.shift();
        if (head) {
          c.enqueue(await head);
          emitted = true;
        } else {
          // An empty input is still a valid (empty) gzip stream.
          if (!emitted) c.enqueue(new Uint8Array(zlib.gzipSync(new Uint8Array(0), { level })));
          stop();
          c.close();
        }
      } catch (e) {
        stop();
        await reader.cancel(e).catch(() => {});
        throw e;
      }
    },
    cancel(reason) {
      stop();
      return reader.cancel(reason).catch(() => {});
    },
  }, { highWaterMark: 0 });
}

/** Result of a `Digester` once its stream has ended. */
export interface DigestResult {
  digest: `sha256:${string}`;
  size: number;
}

/**
 * A pass-through that hashes and counts bytes; `result` resolves when the stream ends. With
 * `maxBytes`, passing more bytes errors the stream with `layer.budget`.
 */
export function digester(
  maxBytes = Number.MAX_SAFE_INTEGER,
  context: Record<string, string | undefined> = {},
): { stream: TransformStream<Uint8Array, Uint8Array>; result: Promise<DigestResult> } {
  const h = createHash("sha256");
  let size = 0;
  let resolve!: (r: DigestResult) => void, reject!: (e: unknown) => void;
  const result = new Promise<DigestResult>((res, rej) => (resolve = res, reject = rej));
  result.catch(() => {});
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, c) {
      size += chunk.length;
      if (size > maxBytes) {
        const e = new LayerError(`Cannot unpack layer: more than ${maxBytes} uncompressed bytes`, {
          code: "layer.budget",
          context,
        });
        reject(e);
        throw e;
      }
      h.update(chunk);
      c.enqueue(chunk);
    },
    flush() {
      resolve({ digest: `sha256:${h.digest("hex")}`, size });
    },
    cancel(reason) {
      reject(reason);
    },
  });
  return { stream, result };
}
