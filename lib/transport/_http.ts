/**
 * The network seam of the registry client: one request with manual redirects (≤10 http(s) hops,
 * Authorization dropped when the origin changes, no https→http downgrade unless allowed), bounded
 * retries with backoff on broken connections, 5xx and 429 (Retry-After honoured, capped), header and
 * idle timeouts (bodies: `_body_watch.ts`), and bounded reads of small bodies. Every wait runs on the
 * settings' clock.
 */
import { readBounded } from "../oci/mod.ts";
import { type Clock, sleep, systemClock } from "../util/clock.ts";
import { RegistryError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { watchBody } from "./_body_watch.ts";

/** Limits and hooks shared by every request of a client. */
export interface HttpSettings {
  readonly client?: Deno.HttpClient;
  readonly signal?: AbortSignal;
  /** Attempts after the first on retryable failures (default 4). */
  readonly retries: number;
  /** First backoff delay; doubles each attempt (default 200 ms). */
  readonly baseDelayMs: number;
  /** Cap on any single wait, Retry-After included (default 10 s). */
  readonly maxDelayMs: number;
  /** Time allowed until response headers arrive (default 60 s). */
  readonly headerTimeoutMs: number;
  /** Time allowed between two body chunks, and the window of the stall rule (default 60 s). */
  readonly idleTimeoutMs: number;
  /** Allow following a redirect from https to http. */
  readonly allowHttp: boolean;
  /** Skip TLS certificate verification (an `insecure: true` source only). */
  readonly skipTlsVerify?: boolean;
  readonly log: Logger;
  /** Timeouts and backoff run on this clock (default: the real one; tests pass a fake). */
  readonly clock?: Clock;
}

/** One request; `body` is a factory so a retried or redirected request can send it again. */
export interface HttpRequest {
  readonly method: string;
  readonly url: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** Sent only to this origin (the registry's); dropped after a redirect elsewhere. */
  readonly authorization?: string;
  readonly body?: () => Promise<BodyInit | Uint8Array | null> | BodyInit | Uint8Array | null;
  /** Statuses that are retried (default: 408, 429, 5xx). */
  readonly retryStatus?: (status: number) => boolean;
  /** Attempts after the first [the client's]: 0 when the caller recovers itself (upload chunks). */
  readonly retries?: number;
}

const MAX_REDIRECTS = 10;
/** Cap on error and token bodies (c/image iolimits). */
export const MAX_SMALL_BODY = 1024 * 1024;

const defaultRetry = (s: number) => s === 408 || s === 429 || (s >= 500 && s <= 599);

/** Seconds or an HTTP date, as milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(value: string | null): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : Math.max(0, t - Date.now());
}

/** The backoff before attempt `attempt` (1-based), honouring Retry-After within the cap. */
export function backoffMs(attempt: number, s: HttpSettings, retryAfter?: number): number {
  const exp = s.baseDelayMs * 2 ** (attempt - 1);
  const jitter = Math.random() * s.baseDelayMs;
  return Math.min(s.maxDelayMs, retryAfter ?? exp + jitter);
}

/**
 * Sends `req`, following redirects and retrying as described above. Resolves with the final
 * response (any status the caller did not ask to retry, or the last retryable one). Throws
 * RegistryError `registry.unreachable` (retryable) when every attempt failed to connect.
 */
export async function send(req: HttpRequest, s: HttpSettings): Promise<Response> {
  const retryStatus = req.retryStatus ?? defaultRetry;
  const retries = req.retries ?? s.retries;
  let lastErr: unknown;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) s.log.debug("retrying", { url: redact(req.url), attempt });
    let res: Response;
    try {
      res = await sendOnce(req, s);
    } catch (err) {
      if (s.signal?.aborted || err instanceof RegistryError) throw err;
      lastErr = err;
      if (attempt < retries) await sleep(backoffMs(attempt + 1, s), s.signal, s.clock);
      continue;
    }
    if (retryStatus(res.status) && attempt < retries) {
      const wait = backoffMs(attempt + 1, s, retryAfterMs(res.headers.get("retry-after")));
      await res.body?.cancel();
      s.log.debug(`registry answered ${res.status}, waiting ${Math.round(wait)} ms`, {
        url: redact(req.url),
      });
      await sleep(wait, s.signal, s.clock);
      continue;
    }
    return res;
  }
  throw new RegistryError(
    `Cannot reach "${redact(req.url)}": ${lastErr instanceof Error ? lastErr.message : String(lastErr)}`,
    { code: "registry.unreachable", retryable: true, cause: lastErr, context: { url: redact(req.url) } },
  );
}

async function sendOnce(req: HttpRequest, s: HttpSettings): Promise<Response> {
  let url = new URL(req.url);
  const origin = url.origin;
  let method = req.method;
  let withBody = true;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const headers = new Headers(req.headers);
    if (req.authorization && url.origin === origin) headers.set("authorization", req.authorization);
    const ctl = new AbortController();
    const timer = (s.clock ?? systemClock).timer(
      () => ctl.abort(new Error(`no response within ${s.headerTimeoutMs} ms`)),
      s.headerTimeoutMs,
    );
    const signal = s.signal ? AbortSignal.any([s.signal, ctl.signal]) : ctl.signal;
    let res: Response;
    try {
      const body = withBody && req.body ? await req.body() : null;
      res = s.skipTlsVerify && url.protocol === "https:"
        // loaded on demand: node:https brings up Deno's Node layer (~25 ms) that secure requests never need
        ? await (await import("./_insecure_fetch.ts")).insecureFetch(url, { method, headers, body, signal })
        : await fetch(url, {
          method,
          headers,
          body: body as BodyInit | null,
          redirect: "manual",
          signal,
          client: s.client,
        });
    } finally {
      timer.cancel();
    }
    if (![301, 302, 303, 307, 308].includes(res.status)) return watchBody(res, s.idleTimeoutMs, s.clock);
    const location = res.headers.get("location");
    await res.body?.cancel();
    if (!location) {
      throw new RegistryError(`Cannot follow redirect from "${redact(url.href)}": no Location`, {
        code: "registry.bad-redirect",
        status: res.status,
      });
    }
    const next = new URL(location, url);
    if (next.protocol !== "https:" && next.protocol !== "http:") {
      throw new RegistryError(`Cannot follow redirect to "${next.protocol}": only http(s) is allowed`, {
        code: "registry.bad-redirect",
        status: res.status,
      });
    }
    if (url.protocol === "https:" && next.protocol === "http:" && !s.allowHttp) {
      throw new RegistryError(`Cannot follow redirect to "${redact(next.href)}": downgrade from https`, {
        code: "registry.bad-redirect",
        status: res.status,
      });
    }
    if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === "POST")) {
      method = "GET";
      withBody = false;
    }
    url = next;
  }
  throw new RegistryError(`Cannot fetch "${redact(req.url)}": more than ${MAX_REDIRECTS} redirects`, {
    code: "registry.bad-redirect",
  });
}

/** The body of a small response (errors, tokens), capped at `limit`. */
export async function smallBody(res: Response, limit = MAX_SMALL_BODY): Promise<string> {
  if (!res.body) return "";
  return new TextDecoder().decode(await readBounded(res.body, limit, "response body"));
}

/** A RegistryError for an unexpected status, carrying the registry's own diagnostics. */
export async function statusError(res: Response, action: string, context: Record<string, string> = {}) {
  let detail = "";
  try {
    const text = await smallBody(res);
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    detail = (parsed.errors ?? []).map((e) => `${e.code ?? ""}: ${e.message ?? ""}`).join("; ");
  } catch {
    await res.body?.cancel().catch(() => {});
  }
  const retryable = defaultRetry(res.status);
  return new RegistryError(
    `Cannot ${action}: registry answered ${res.status}${detail ? ` (${detail})` : ""}${
      retryable ? "; a retry could help" : ""
    }`,
    { code: `registry.http-${res.status}`, status: res.status, retryable, context: { ...context } },
  );
}

/** `url` without query (upload locations carry secrets in it). */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return url;
  }
}
