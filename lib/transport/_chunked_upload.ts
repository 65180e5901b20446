/**
 * The chunked half of a blob upload: PATCH chunks of a fixed size, and an interrupted upload goes
 * on where the registry says it stands (or starts over once). `_blob_upload.ts` opens the upload
 * session and finishes it.
 */
import type { Descriptor } from "../oci/mod.ts";
import { RegistryError } from "../util/errors.ts";
import { sleep } from "../util/clock.ts";
import { backoffMs, statusError } from "./_http.ts";
import type { RegistrySession } from "./_session.ts";

/** What {@link uploadChunks} needs besides the session. */
export interface ChunkedUpload {
  readonly repo: string;
  readonly desc: Pick<Descriptor, "digest" | "size">;
  /** A fresh stream of the blob's bytes, from its start, on every call. */
  readonly open: () => Promise<ReadableStream<Uint8Array>>;
  /** Auth scopes of the upload (push to `repo`, plus pull of a mount source). */
  readonly scopes: string[];
  /** The upload location the opening POST gave. */
  readonly location: URL;
  /** Bytes per PATCH. */
  readonly chunkSize: number;
}

/**
 * The PATCH loop of a chunked upload; resolves with the location to finish it at. A chunk that
 * fails (broken connection, 5xx, 416, 404) is not resent blindly: the registry may have kept part
 * of it. Its upload location is asked for its progress (`GET` → 204 with `Range: 0-<last>`) and the
 * upload goes on from the offset it reports, the blob re-opened and skipped to there, with
 * backoff and at most `retries` failures in a row. When the registry cannot say, or says
 * something impossible, the upload starts over once from scratch; then it fails with
 * `registry.upload-interrupted` (or `registry.upload-short` when the blob ends early).
 */
export async function uploadChunks(session: RegistrySession, up: ChunkedUpload): Promise<URL> {
  const { repo, desc, open, scopes, chunkSize } = up;
  const settings = session.settings;
  const what = `"${desc.digest}" to "${repo}"`;
  let location = up.location;
  let restarted = false;
  let offset = 0;
  let chunks = rechunk(await open(), chunkSize, 0);
  let failures = 0;
  try {
    while (offset < desc.size) {
      const next = await chunks.next();
      if (next.done) {
        throw new RegistryError(`Cannot upload ${what}: the blob ended at byte ${offset} of ${desc.size}`, {
          code: "registry.upload-short",
          context: { repository: repo, digest: desc.digest },
        });
      }
      const chunk = next.value;
      let failure: unknown;
      try {
        const res = await session.request(
          {
            method: "PATCH",
            url: location.href,
            headers: {
              "content-type": "application/octet-stream",
              "content-range": `${offset}-${offset + chunk.byteLength - 1}`,
              "content-length": String(chunk.byteLength),
            },
            body: () => chunk,
            retryStatus: () => false,
            retries: 0,
          },
          repo,
          scopes,
        );
        if (res.status === 202) {
          await res.body?.cancel();
          offset += chunk.byteLength;
          location = session.resolve(res.headers.get("location") ?? location.href);
          failures = 0;
          continue;
        }
        failure = await statusError(res, `upload a chunk of ${what}`);
        // 404: distribution refuses an upload whose stored size differs from its state (part of a
        // body arrived, and fetch re-sent the request on a fresh connection by itself)
        if (!(res.status >= 500 || res.status === 416 || res.status === 404)) throw failure;
      } catch (err) {
        if (err === failure || settings.signal?.aborted) throw err;
        // a RegistryError here is ours (auth, redirects): only a broken connection is recovered
        if (err instanceof RegistryError && err.code !== "registry.unreachable") throw err;
        failure = err;
      }
      await chunks.return(undefined);
      const reason = failure instanceof Error ? failure.message : String(failure);
      failures++;
      const progress = failures <= settings.retries
        ? await uploadProgress(session, repo, scopes, location, failures)
        : undefined;
      // The registry holds at least what it acknowledged and at most what it was sent.
      if (progress && progress.offset >= offset && progress.offset <= offset + chunk.byteLength) {
        settings.log.info(`resuming upload of ${desc.digest} at byte ${progress.offset}`, {
          repository: repo,
          reason,
        });
        offset = progress.offset;
        location = progress.location;
      } else if (!restarted) {
        restarted = true;
        settings.log.info(`restarting upload of ${desc.digest} from scratch`, {
          repository: repo,
          reason,
          registrySays: progress ? `${progress.offset} bytes` : "no progress",
        });
        await abandonUpload(session, repo, scopes, location);
        location = await startUpload(session, repo, desc, scopes);
        offset = 0;
        failures = 0;
      } else {
        throw new RegistryError(
          `Cannot upload ${what}: it broke at byte ${offset} of ${desc.size} after a restart, and the ` +
            `registry ${
              progress ? `reports ${progress.offset} bytes` : "gave no progress to resume from"
            } (${reason})`,
          {
            code: "registry.upload-interrupted",
            retryable: true,
            cause: failure,
            context: { repository: repo, digest: desc.digest, offset: String(offset) },
          },
        );
      }
      chunks = rechunk(await open(), chunkSize, offset);
    }
  } finally {
    await chunks.return(undefined);
  }
  return location;
}

/**
 * The offset to resume an upload at, read from the `Range: 0-<last>` header of a progress answer
 * (`bytes=` prefix allowed); undefined when the header is absent or of another form. "0-0" is read
 * as nothing yet (distribution says so for 0 and for 1 byte); a registry holding 1 byte after all
 * fails the final digest check, it stores nothing wrong.
 */
export function uploadedBytes(range: string | null): number | undefined {
  const m = /^(?:bytes=)?0-(\d+)$/.exec(range?.trim() ?? "");
  if (!m) return undefined;
  return m[1] === "0" ? 0 : Number(m[1]) + 1;
}

/**
 * How much of an upload the registry holds: `GET <location>` → 204 with `Range: 0-<last>` and a
 * fresh `Location`, after backing off. Undefined when it does not answer that way (no resume
 * support, an expired upload).
 */
async function uploadProgress(
  session: RegistrySession,
  repo: string,
  scopes: string[],
  location: URL,
  attempt: number,
): Promise<{ offset: number; location: URL } | undefined> {
  const settings = session.settings;
  await sleep(backoffMs(attempt, settings), settings.signal, settings.clock);
  let res: Response;
  try {
    res = await session.request({ method: "GET", url: location.href }, repo, scopes);
  } catch (err) {
    if (settings.signal?.aborted) throw err;
    return undefined;
  }
  await res.body?.cancel();
  const range = res.headers.get("range")?.trim() ?? "";
  const offset = uploadedBytes(range);
  if (res.status !== 204 || offset === undefined) {
    settings.log.debug(`no upload progress: registry answered ${res.status} (Range "${range}")`, {
      repository: repo,
    });
    return undefined;
  }
  return { offset, location: session.resolve(res.headers.get("location") ?? location.href) };
}

/** Starts a plain upload session (POST); resolves with its location. */
async function startUpload(
  session: RegistrySession,
  repo: string,
  desc: Pick<Descriptor, "digest">,
  scopes: string[],
): Promise<URL> {
  const res = await session.request(
    { method: "POST", url: session.url(`${repo}/blobs/uploads/`), headers: { "content-length": "0" } },
    repo,
    scopes,
  );
  if (res.status !== 202) throw await statusError(res, `start upload of "${desc.digest}" to "${repo}"`);
  await res.body?.cancel();
  return session.resolve(res.headers.get("location") ?? "");
}

/** Cancels an upload session we give up on (best effort: it expires anyway). */
async function abandonUpload(
  session: RegistrySession,
  repo: string,
  scopes: string[],
  location: URL,
): Promise<void> {
  try {
    const res = await session.request({ method: "DELETE", url: location.href, retries: 0 }, repo, scopes);
    await res.body?.cancel();
  } catch (err) {
    if (session.settings.signal?.aborted) throw err;
  }
}

/**
 * Re-cuts a byte stream into chunks of exactly `size` bytes (the last may be shorter), leaving out
 * its first `skip` bytes (a resumed upload). Each yielded chunk is a fresh buffer the caller may
 * keep. Returning early cancels the stream.
 */
export async function* rechunk(
  stream: ReadableStream<Uint8Array>,
  size: number,
  skip: number,
): AsyncGenerator<Uint8Array> {
  let buf = new Uint8Array(size);
  let fill = 0;
  for await (let piece of stream) {
    if (skip > 0) {
      const n = Math.min(skip, piece.byteLength);
      skip -= n;
      piece = piece.subarray(n);
    }
    while (piece.byteLength > 0) {
      const n = Math.min(size - fill, piece.byteLength);
      buf.set(piece.subarray(0, n), fill);
      fill += n;
      piece = piece.subarray(n);
      if (fill === size) {
        yield buf;
        buf = new Uint8Array(size);
        fill = 0;
      }
    }
  }
  if (fill > 0) yield buf.subarray(0, fill);
}
