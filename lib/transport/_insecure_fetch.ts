/**
 * `fetch` without TLS certificate verification, for `insecure: true` sources only. Deno's fetch and
 * `createHttpClient` have no per-client switch for it (only the process-wide
 * --unsafely-ignore-certificate-errors), so these requests go through `node:https` with
 * `rejectUnauthorized: false` and come back as an ordinary web `Response`. Redirects are not
 * followed here: the caller's manual redirect handling sees the 3xx.
 */
import { request } from "node:https";
import { Readable } from "node:stream";

function headerPairs(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((v, k) => (out[k] = v));
  return out;
}

export async function insecureFetch(
  url: URL,
  init: { method: string; headers: Headers; body: BodyInit | Uint8Array | null; signal?: AbortSignal },
): Promise<Response> {
  const body = init.body;
  return await new Promise<Response>((resolve, reject) => {
    const req = request(url, {
      method: init.method,
      headers: headerPairs(init.headers),
      rejectUnauthorized: false,
      signal: init.signal,
    }, (res) => {
      const headers = new Headers();
      for (const [k, v] of Object.entries(res.headers)) {
        if (v === undefined) continue;
        for (const one of Array.isArray(v) ? v : [v]) headers.append(k, one);
      }
      const status = res.statusCode ?? 502;
      const nullBody = status === 204 || status === 304 || init.method === "HEAD";
      const stream = nullBody ? null : Readable.toWeb(res) as ReadableStream<Uint8Array>;
      if (nullBody) res.resume();
      resolve(new Response(stream, { status, statusText: res.statusMessage, headers }));
    });
    req.on("error", reject);
    (async () => {
      if (body === null || body === undefined) {
        req.end();
      } else if (body instanceof ReadableStream) {
        for await (const chunk of body as ReadableStream<Uint8Array>) {
          if (!req.write(chunk)) await new Promise((r) => req.once("drain", r));
        }
        req.end();
      } else if (typeof body === "string" || body instanceof Uint8Array) {
        req.end(body);
      } else {
        req.end(new Uint8Array(await new Response(body as BodyInit).arrayBuffer()));
      }
    })().catch((err) => {
      req.destroy(err);
      reject(err);
    });
  });
}
