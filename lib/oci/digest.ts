/**
 * Digests: parsing (before any path is built from one) and a hashing stream that verifies size and
 * digest at EOF, so a blob is checked while it flows and never held whole in memory.
 */
import { OciError } from "../util/errors.ts";
import { openFileChunks } from "../util/file_stream.ts";
import { sha256Hex } from "./sha256.ts";
import type { Digest } from "./types.ts";

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

/**
 * Validates `value` as a digest and returns it typed. Only lowercase sha256/sha512 are accepted, so
 * a digest can never contain `/`, `..` or anything else that would escape `blobs/<alg>/`.
 * Throws OciError `oci.bad-digest`.
 */
export function parseDigest(value: unknown, what = "digest"): Digest {
  if (typeof value !== "string" || !DIGEST_RE.test(value)) {
    throw new OciError(`Cannot parse ${what}: "${String(value).slice(0, 200)}" is not a valid digest`, {
      code: "oci.bad-digest",
      context: { value: String(value).slice(0, 200) },
    });
  }
  return value as Digest;
}

/** The `sha256:<hex>` digest of `data`. */
export function sha256Digest(data: Uint8Array | string): Digest {
  return `sha256:${sha256Hex(data)}`;
}

/** Blobs up to this size are hashed in one WebCrypto call at EOF; larger ones stream natively. */
const INLINE_HASH_LIMIT = 1 << 20;

type NativeHash = { update(data: Uint8Array): unknown; digest(enc: "hex"): string };

/**
 * A streaming hash that does not load `node:crypto` for small blobs: their bytes (at most
 * INLINE_HASH_LIMIT, copied) are hashed with WebCrypto at EOF. The first byte past the limit loads
 * node:crypto (its import starts Deno's Node layer, ~17 ms, worth it only for large blobs) and
 * hands it what was held, so memory stays bounded and large blobs keep native streaming speed.
 */
class LazyHash {
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  #native?: NativeHash;
  constructor(readonly alg: "sha256" | "sha512") {}

  /** Adds `chunk`; returns a promise only when the native hash has to be loaded. */
  update(chunk: Uint8Array): Promise<void> | undefined {
    if (this.#native) {
      this.#native.update(chunk);
      return undefined;
    }
    this.#held.push(chunk.slice());
    this.#heldBytes += chunk.byteLength;
    if (this.#heldBytes <= INLINE_HASH_LIMIT) return undefined;
    return (async () => {
      const { createHash } = await import("node:crypto");
      const native = createHash(this.alg);
      for (const part of this.#held) native.update(part);
      this.#held = [];
      this.#native = native;
    })();
  }

  async hex(): Promise<string> {
    if (this.#native) return this.#native.digest("hex");
    const all = new Uint8Array(this.#heldBytes);
    let off = 0;
    for (const part of this.#held) {
      all.set(part, off);
      off += part.byteLength;
    }
    this.#held = [];
    const sum = await crypto.subtle.digest(this.alg === "sha256" ? "SHA-256" : "SHA-512", all);
    return Array.from(new Uint8Array(sum), (b) => b.toString(16).padStart(2, "0")).join("");
  }
}

/** What a hashing stream saw once it reached EOF. */
export interface DigestResult {
  readonly digest: Digest;
  readonly size: number;
}

/** Options of {@link DigestStream}. */
export interface DigestStreamOptions {
  /** Digest the bytes must have; checked at EOF (after `size`). */
  readonly digest?: Digest;
  /** Exact size; more bytes fail as soon as they arrive, fewer fail at EOF. */
  readonly size?: number;
  /** Names the blob in errors (a layer, a url). */
  readonly what?: string;
}

/**
 * A pass-through TransformStream that hashes the bytes flowing through it. With `expected` it
 * errors (OciError `oci.digest-mismatch` / `oci.size-mismatch`) before passing the byte that
 * exceeds the size, or at EOF when the size or digest differ, naming expected and actual values.
 * `result` resolves with the digest and size at EOF (rejects if the stream failed).
 */
export class DigestStream extends TransformStream<Uint8Array, Uint8Array> {
  readonly result: Promise<DigestResult>;
  constructor(opts: DigestStreamOptions = {}) {
    const alg = opts.digest?.startsWith("sha512:") ? "sha512" : "sha256";
    const hash = new LazyHash(alg);
    let size = 0;
    let resolve!: (r: DigestResult) => void;
    let reject!: (e: unknown) => void;
    const result = new Promise<DigestResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    result.catch(() => {});
    const what = opts.what ?? opts.digest ?? "blob";
    super({
      transform(chunk, controller) {
        size += chunk.byteLength;
        if (opts.size !== undefined && size > opts.size) {
          const err = new OciError(
            `Cannot verify "${what}": more than the expected ${opts.size} bytes`,
            {
              code: "oci.size-mismatch",
              context: { digest: opts.digest, expected: opts.size, actual: size },
            },
          );
          reject(err);
          throw err;
        }
        const loading = hash.update(chunk);
        if (!loading) {
          controller.enqueue(chunk);
          return;
        }
        return loading.then(() => controller.enqueue(chunk));
      },
      async flush() {
        const digest = `${alg}:${await hash.hex()}` as Digest;
        let err: OciError | undefined;
        if (opts.size !== undefined && size !== opts.size) {
          err = new OciError(`Cannot verify "${what}": got ${size} bytes, expected ${opts.size}`, {
            code: "oci.size-mismatch",
            context: { digest: opts.digest, expected: opts.size, actual: size },
          });
        } else if (opts.digest !== undefined && digest !== opts.digest) {
          err = new OciError(`Cannot verify "${what}": digest is "${digest}", expected "${opts.digest}"`, {
            code: "oci.digest-mismatch",
            context: { expected: opts.digest, actual: digest, size },
          });
        }
        if (err) {
          reject(err);
          throw err;
        }
        resolve({ digest, size });
      },
      cancel(reason) {
        reject(reason ?? new Error("cancelled"));
      },
    });
    this.result = result;
  }
}

/**
 * Reads `stream` to the end into memory, refusing more than `limit` bytes (RangeError-like OciError
 * `oci.too-large`). For manifests, configs, tokens and error bodies only, never for layers.
 */
export async function readBounded(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  what: string,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > limit) {
        throw new OciError(`Cannot read ${what}: larger than ${limit} bytes`, {
          code: "oci.too-large",
          context: { limit },
        });
      }
      parts.push(value);
    }
  } catch (err) {
    await reader.cancel().catch(() => {});
    throw err;
  } finally {
    reader.releaseLock();
  }
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

/** The sha256 digest of the file at `path`, streamed (imports, tar bases, helper binaries). */
export async function fileDigest(path: string): Promise<Digest> {
  const verify = new DigestStream();
  await (await openFileChunks(path)).pipeThrough(verify).pipeTo(new WritableStream());
  return (await verify.result).digest;
}
