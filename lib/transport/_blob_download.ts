/**
 * Blob downloads over a registry session: a stream verified against digest and size as it is read,
 * and resumed with `Range` when the connection breaks or ends short.
 */
import { type Descriptor, type Digest, DigestStream, parseDigest } from "../oci/mod.ts";
import { RegistryError } from "../util/errors.ts";
import { backoffMs, statusError } from "./_http.ts";
import type { RegistrySession } from "./_session.ts";

/**
 * The first byte a `Content-Range: bytes <first>-<last>/<total or *>` header names; undefined when
 * the header is absent or not of that form (an unsatisfiable-range answer included).
 */
export function contentRangeStart(header: string | null): number | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header ?? "");
  return m ? Number(m[1]) : undefined;
}

/** GET blob `digest`, from byte `from` on (a Range request) when it is past 0; 200 or 206. */
async function blobResponse(
  session: RegistrySession,
  repo: string,
  digest: Digest,
  from: number,
): Promise<Response> {
  const res = await session.request(
    {
      method: "GET",
      url: session.url(`${repo}/blobs/${digest}`),
      headers: from > 0 ? { range: `bytes=${from}-` } : {},
    },
    repo,
    [`repository:${repo}:pull`],
  );
  if (res.status !== 200 && res.status !== 206) {
    throw await statusError(res, `get blob "${digest}" of "${repo}"`, { digest, repository: repo });
  }
  return res;
}

/**
 * A stream of blob `desc`, verified against its digest and size as it is read. A broken or short
 * connection is resumed with `Range` (a 206 with a matching Content-Range continues; a 200 is
 * re-read past what was already passed on), up to the retry budget; then the stream errors.
 * The caller reads the stream to its end or cancels it.
 */
export async function openBlob(
  session: RegistrySession,
  repo: string,
  desc: Pick<Descriptor, "digest" | "size">,
): Promise<ReadableStream<Uint8Array>> {
  const digest = parseDigest(desc.digest);
  const s = session.settings;
  let reader = (await blobResponse(session, repo, digest, 0)).body!.getReader();
  let received = 0, skip = 0, attempts = 0;
  const resume = async (why: unknown) => {
    if (s.signal?.aborted || attempts >= s.retries) throw why;
    attempts++;
    s.log.debug(`resuming blob at byte ${received}: ${why instanceof Error ? why.message : why}`, {
      digest,
    });
    await reader.cancel().catch(() => {});
    await new Promise((r) => setTimeout(r, backoffMs(attempts, s)));
    const res = await blobResponse(session, repo, digest, received);
    if (res.status === 206) {
      if (contentRangeStart(res.headers.get("content-range")) !== received) {
        await res.body?.cancel();
        throw new RegistryError(
          `Cannot resume blob "${digest}": Content-Range does not start at ${received}`,
          {
            code: "registry.bad-range",
          },
        );
      }
      skip = 0;
    } else skip = received;
    reader = res.body!.getReader();
  };
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        try {
          const r = await reader.read();
          if (r.done) {
            if (received >= desc.size) return controller.close();
            throw new Error(`connection closed after ${received} of ${desc.size} bytes`);
          }
          let chunk = r.value;
          if (skip > 0) {
            const n = Math.min(skip, chunk.byteLength);
            chunk = chunk.subarray(n);
            skip -= n;
            if (chunk.byteLength === 0) continue;
          }
          received += chunk.byteLength;
          controller.enqueue(chunk);
          return;
        } catch (err) {
          try {
            await resume(err);
          } catch (final) {
            controller.error(
              final instanceof RegistryError ? final : new RegistryError(
                `Cannot download blob "${digest}": ${final instanceof Error ? final.message : final}`,
                {
                  code: "registry.download-failed",
                  retryable: true,
                  cause: final,
                  context: { digest, received },
                },
              ),
            );
            return;
          }
        }
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return body.pipeThrough(new DigestStream({ digest, size: desc.size, what: `${repo}@${digest}` }));
}
