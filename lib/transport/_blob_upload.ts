/**
 * Blob uploads over a registry session: skipped when the blob is there (HEAD), mounted from another
 * repository of the same registry when it can be, else sent in one PUT or, past the chunk size, in
 * PATCH chunks (`_chunked_upload.ts`).
 */
import { type Descriptor, type Digest, parseDigest, readBounded } from "../oci/mod.ts";
import { statusError } from "./_http.ts";
import { uploadChunks } from "./_chunked_upload.ts";
import type { RegistrySession } from "./_session.ts";

/** Blobs up to this size are uploaded from one buffer rather than a stream (see pushBlob). */
const SMALL_UPLOAD_BYTES = 1 << 20;

/** Options of {@link pushBlob}. */
export interface PushBlobOptions {
  /** A repository of this registry to mount the blob from. */
  readonly mountFrom?: string;
  /** Upload blobs larger than this in PATCH chunks of this size [monolithic]. */
  readonly chunkSize?: number;
}

/** True when `repo` has blob `digest` (HEAD with `scopes`); other answers throw. */
export async function hasBlob(
  session: RegistrySession,
  repo: string,
  digest: Digest,
  scopes: string[],
): Promise<boolean> {
  const res = await session.request(
    { method: "HEAD", url: session.url(`${repo}/blobs/${parseDigest(digest)}`) },
    repo,
    scopes,
  );
  await res.body?.cancel();
  if (res.status === 200) return true;
  if (res.status === 404) return false;
  throw await statusError(res, `check blob "${digest}" in "${repo}"`);
}

/**
 * Uploads blob `desc` to `repo` unless it is there already; `open` gives a fresh stream of its
 * bytes (called again on a retry). The registry checks the digest when the upload finishes.
 */
export async function pushBlob(
  session: RegistrySession,
  repo: string,
  desc: Pick<Descriptor, "digest" | "size">,
  open: () => Promise<ReadableStream<Uint8Array>>,
  opts: PushBlobOptions = {},
): Promise<"exists" | "mounted" | "uploaded"> {
  const push = [`repository:${repo}:pull,push`];
  const scopes = opts.mountFrom && opts.mountFrom !== repo
    ? [...push, `repository:${opts.mountFrom}:pull`]
    : push;
  if (await hasBlob(session, repo, desc.digest, scopes)) return "exists";
  const start = new URL(session.url(`${repo}/blobs/uploads/`));
  if (opts.mountFrom && opts.mountFrom !== repo) {
    start.searchParams.set("mount", desc.digest);
    start.searchParams.set("from", opts.mountFrom);
  }
  let res = await session.request(
    { method: "POST", url: start.href, headers: { "content-length": "0" } },
    repo,
    scopes,
  );
  if (res.status === 201 && opts.mountFrom) {
    await res.body?.cancel();
    return "mounted";
  }
  if (res.status !== 202) throw await statusError(res, `start upload of "${desc.digest}" to "${repo}"`);
  await res.body?.cancel();
  let location = session.resolve(res.headers.get("location") ?? "");
  const noRetry = () => false;
  if (opts.chunkSize !== undefined && desc.size > opts.chunkSize) {
    location = await uploadChunks(session, { repo, desc, open, scopes, location, chunkSize: opts.chunkSize });
    location.searchParams.set("digest", desc.digest);
    res = await session.request(
      {
        method: "PUT",
        url: location.href,
        headers: { "content-length": "0" },
        retryStatus: noRetry,
      },
      repo,
      scopes,
    );
  } else {
    location.searchParams.set("digest", desc.digest);
    res = await session.request(
      {
        method: "PUT",
        url: location.href,
        headers: { "content-type": "application/octet-stream", "content-length": String(desc.size) },
        // A small blob goes as one buffer: a streamed request body is written in pieces, and with
        // Nagle's algorithm against the registry's delayed ACK each small upload waited ~40 ms.
        body: desc.size <= SMALL_UPLOAD_BYTES
          ? async () => await readBounded(await open(), desc.size, `blob "${desc.digest}"`)
          : open,
        retryStatus: noRetry,
      },
      repo,
      scopes,
    );
  }
  if (res.status !== 201) throw await statusError(res, `finish upload of "${desc.digest}" to "${repo}"`);
  await res.body?.cancel();
  return "uploaded";
}
