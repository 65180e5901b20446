/**
 * A distribution API v2 client for one registry: manifests (verified, platform-resolved), blobs
 * (verified while streaming, resumed with Range), uploads (HEAD skip, cross-repo mount, monolithic
 * or chunked; an interrupted chunked upload goes on where the registry says it stands) and auth
 * (anonymous, basic, bearer tokens with scopes and refresh). Network rules (redirects, retries,
 * timeouts, bounded bodies) live in `_http.ts`.
 */
import {
  type Descriptor,
  type Digest,
  DigestStream,
  isIndexMediaType,
  type Manifest,
  MAX_JSON_BYTES,
  MediaType,
  parseDigest,
  parseManifestOrIndex,
  readBounded,
  selectPlatform,
  sha256Digest,
} from "../oci/mod.ts";
import { RegistryError } from "../util/errors.ts";
import { type Logger, silentLogger } from "../util/log.ts";
import { basicAuth, type Credentials, lookupCredentials, parseChallenge } from "./_auth.ts";
import {
  backoffMs,
  type HttpRequest,
  type HttpSettings,
  redact,
  send,
  sleep,
  smallBody,
  statusError,
} from "./_http.ts";

/** Options of {@link RegistryClient.connect}; defaults in brackets. */
export interface RegistryClientOptions {
  /** `host[:port]` of the registry (`registry-1.docker.io` for Docker Hub). */
  readonly registry: string;
  /** Allow plain http and skip nothing else: Deno cannot skip TLS verification per client [false]. */
  readonly insecure?: boolean;
  /** Explicit credentials; otherwise looked up in the auth files named by `env`. */
  readonly credentials?: Credentials;
  /** Environment for auth-file lookup (REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, HOME) [{}]. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Extra trusted CA certificates (PEM), added to those in /etc/containers/certs.d/<host>/. */
  readonly caCerts?: readonly string[];
  /** Upload blobs larger than this in PATCH chunks of this size [monolithic]. */
  readonly chunkSize?: number;
  readonly retries?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly headerTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  readonly log?: Logger;
  readonly signal?: AbortSignal;
}

/** A manifest as fetched: its exact bytes, the descriptor naming them and the parsed value. */
export interface FetchedManifest {
  readonly descriptor: Descriptor;
  readonly bytes: Uint8Array;
  readonly manifest: Manifest;
}

const ACCEPT = [
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
]
  .join(", ");

/** Blobs up to this size are uploaded from one buffer rather than a stream (see pushBlob). */
const SMALL_UPLOAD_BYTES = 1 << 20;

function isLoopback(registry: string): boolean {
  const host = registry.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return host === "localhost" || host.startsWith("127.") || host === "::1";
}

async function certsFor(registry: string): Promise<string[]> {
  const out: string[] = [];
  for (const base of ["/etc/containers/certs.d", "/etc/docker/certs.d"]) {
    try {
      for await (const e of Deno.readDir(`${base}/${registry}`)) {
        if (e.name.endsWith(".crt")) out.push(await Deno.readTextFile(`${base}/${registry}/${e.name}`));
      }
    } catch { /* no such dir */ }
  }
  return out;
}

/** A session with one registry. Holds an HTTP client: `close()` it (idempotent). */
export class RegistryClient implements Disposable {
  readonly registry: string;
  #base: string;
  readonly #settings: HttpSettings;
  readonly #client?: Deno.HttpClient;
  readonly #credentials?: Credentials;
  readonly #chunkSize?: number;
  readonly #tokens = new Map<string, { value: string; expires: number }>();
  #basic = false;
  readonly #env: Readonly<Record<string, string | undefined>>;
  #credentialsLooked = false;
  #found?: Credentials;

  private constructor(opts: RegistryClientOptions, base: string, client: Deno.HttpClient | undefined) {
    this.registry = opts.registry;
    this.#base = base;
    this.#client = client;
    this.#credentials = opts.credentials;
    this.#chunkSize = opts.chunkSize;
    this.#env = opts.env ?? {};
    this.#settings = {
      client,
      signal: opts.signal,
      retries: opts.retries ?? 4,
      baseDelayMs: opts.baseDelayMs ?? 200,
      maxDelayMs: opts.maxDelayMs ?? 10_000,
      headerTimeoutMs: opts.headerTimeoutMs ?? 60_000,
      idleTimeoutMs: opts.idleTimeoutMs ?? 60_000,
      allowHttp: opts.insecure === true || isLoopback(opts.registry),
      skipTlsVerify: opts.insecure === true,
      log: (opts.log ?? silentLogger).with({ registry: opts.registry }),
    };
  }

  /**
   * Opens a session: https, or plain http when https cannot connect and the source is `insecure`
   * or on loopback (as Docker treats 127.0.0.0/8). A loopback registry without configured CA
   * certificates is probed over http first: traffic that never leaves the host gains nothing from
   * TLS, a TLS port answers the plain probe with 400 at once, and the first TLS handshake of a
   * process costs ~40 ms (Deno sets up its TLS stack), more than a whole small pull.
   * Throws `registry.unreachable`.
   */
  static async connect(opts: RegistryClientOptions): Promise<RegistryClient> {
    const cas = [...(opts.caCerts ?? []), ...(await certsFor(opts.registry))];
    const client = cas.length > 0 ? Deno.createHttpClient({ caCerts: cas }) : undefined;
    const httpFirst = cas.length === 0 && isLoopback(opts.registry);
    const self = new RegistryClient(opts, `${httpFirst ? "http" : "https"}://${opts.registry}`, client);
    try {
      await self.#ping({ ...self.#settings, retries: 0 });
    } catch (err) {
      if ((!httpFirst && !self.#settings.allowHttp) || opts.signal?.aborted) {
        self.close();
        throw err;
      }
      self.#base = `${httpFirst ? "https" : "http"}://${opts.registry}`;
      try {
        await self.#ping(self.#settings);
      } catch (err2) {
        self.close();
        throw err2;
      }
    }
    return self;
  }

  /** GET /v2/: a registry answers 200 or 401; anything else (a TLS server's 400 to http) is not one. */
  async #ping(settings: HttpSettings): Promise<void> {
    const res = await send({ method: "GET", url: `${this.#base}/v2/` }, settings);
    await res.body?.cancel();
    if (res.status !== 200 && res.status !== 401) {
      throw new RegistryError(`Cannot use "${this.#base}" as a registry: /v2/ answered ${res.status}`, {
        code: "registry.unreachable",
        status: res.status,
        context: { registry: this.registry },
      });
    }
  }

  /** Closes the HTTP client. Idempotent. */
  close(): void {
    try {
      this.#client?.close();
    } catch { /* already closed */ }
  }
  [Symbol.dispose](): void {
    this.close();
  }

  async #creds(repo: string): Promise<Credentials | undefined> {
    if (this.#credentials) return this.#credentials;
    if (!this.#credentialsLooked) {
      this.#found = await lookupCredentials(this.registry, repo, this.#env);
      this.#credentialsLooked = true;
    }
    return this.#found;
  }

  /** Sends `req` with the auth `scopes` need, answering one 401 challenge (a second is an error). */
  async #request(req: Omit<HttpRequest, "authorization">, repo: string, scopes: string[]): Promise<Response> {
    const key = scopes.join(" ");
    // Credentials go to the registry's own origin only: an upload Location may name another host
    // (object storage), which must not receive our token or password (skopeo sends it).
    const foreign = new URL(req.url).origin !== new URL(this.#base).origin;
    for (let round = 0; round < 2; round++) {
      let authorization: string | undefined;
      const tok = this.#tokens.get(key);
      if (foreign) authorization = undefined;
      else if (tok && tok.expires > Date.now()) authorization = `Bearer ${tok.value}`;
      else if (this.#basic) {
        const c = await this.#creds(repo);
        if (c) authorization = basicAuth(c);
      }
      const res = await send({ ...req, authorization }, this.#settings);
      if (res.status !== 401 || foreign) return res;
      const challenge = parseChallenge(res.headers.get("www-authenticate"));
      if (round === 1 || !challenge) {
        throw await this.#authError(res, repo);
      }
      await res.body?.cancel();
      if (challenge.scheme === "bearer") {
        await this.#fetchToken(challenge.params, repo, scopes, key);
      } else if (challenge.scheme === "basic") {
        if (!(await this.#creds(repo))) throw await this.#authError(res, repo);
        this.#basic = true;
      } else {
        throw await this.#authError(res, repo);
      }
    }
    throw new Error("unreachable");
  }

  async #authError(res: Response, repo: string): Promise<RegistryError> {
    const err = await statusError(res, `authenticate to "${this.registry}" for "${repo}"`, {
      repository: repo,
    });
    return new RegistryError(err.message + " (check the credentials)", {
      code: "registry.unauthorized",
      status: res.status,
      context: { registry: this.registry, repository: repo },
    });
  }

  async #fetchToken(params: Readonly<Record<string, string>>, repo: string, scopes: string[], key: string) {
    if (!params.realm) {
      throw new RegistryError(`Cannot get a token from "${this.registry}": no realm`, {
        code: "registry.bad-challenge",
      });
    }
    const realm = new URL(params.realm);
    if (realm.protocol !== "https:" && !(realm.protocol === "http:" && this.#settings.allowHttp)) {
      throw new RegistryError(`Cannot get a token from "${realm.href}": not https`, {
        code: "registry.bad-challenge",
      });
    }
    if (params.service) realm.searchParams.set("service", params.service);
    for (const s of scopes) realm.searchParams.append("scope", s);
    const c = await this.#creds(repo);
    const res = await send({
      method: "GET",
      url: realm.href,
      // the realm is where credentials are meant to go (distribution token protocol)
      authorization: c ? basicAuth(c) : undefined,
    }, this.#settings);
    if (res.status !== 200) {
      const e = await statusError(res, `get a token from "${redact(realm.href)}"`);
      throw new RegistryError(e.message, {
        code: res.status === 401 || res.status === 403 ? "registry.unauthorized" : e.code,
        status: res.status,
      });
    }
    let body: { token?: string; access_token?: string; expires_in?: number };
    try {
      body = JSON.parse(await smallBody(res));
    } catch (err) {
      throw new RegistryError(`Cannot read the token from "${redact(realm.href)}": not JSON`, {
        code: "registry.bad-token",
        cause: err,
      });
    }
    const value = body.token ?? body.access_token;
    if (!value) {
      throw new RegistryError(`Cannot read the token from "${redact(realm.href)}": empty`, {
        code: "registry.bad-token",
      });
    }
    // refresh 10 s early; the spec's default lifetime is 60 s
    const ttl = Math.max(1, (body.expires_in ?? 60) - 10) * 1000;
    this.#tokens.set(key, { value, expires: Date.now() + ttl });
  }

  #url(path: string): string {
    return `${this.#base}/v2/${path}`;
  }

  /**
   * Fetches the manifest or index `reference` (tag or digest) of `repo` as exact bytes (4 MiB cap).
   * A digest reference is re-hashed and must match. Throws `registry.http-404` when absent.
   */
  async getManifest(repo: string, reference: string): Promise<{ descriptor: Descriptor; bytes: Uint8Array }> {
    const res = await this.#request(
      {
        method: "GET",
        url: this.#url(`${repo}/manifests/${reference}`),
        headers: { accept: ACCEPT },
      },
      repo,
      [`repository:${repo}:pull`],
    );
    if (res.status !== 200) {
      throw await statusError(res, `get manifest "${repo}:${reference}"`, { repository: repo });
    }
    const bytes = await readBounded(res.body!, MAX_JSON_BYTES, `manifest "${repo}:${reference}"`);
    const digest = sha256Digest(bytes);
    if (reference.includes(":") && reference !== digest) {
      throw new RegistryError(`Cannot verify manifest "${repo}@${reference}": its digest is "${digest}"`, {
        code: "registry.digest-mismatch",
        context: { expected: reference, actual: digest },
      });
    }
    let mediaType = (res.headers.get("content-type") ?? "").split(";")[0].trim();
    try {
      const mt = JSON.parse(new TextDecoder().decode(bytes)).mediaType;
      if (typeof mt === "string") mediaType = mt;
    } catch { /* parse errors surface in parseManifestOrIndex */ }
    return { descriptor: { mediaType, digest, size: bytes.byteLength }, bytes };
  }

  /** The image manifest of `repo:reference` for `platform` (manifest lists resolved). */
  async resolveImage(
    repo: string,
    reference: string,
    platform: { os: string; arch: string },
  ): Promise<FetchedManifest> {
    let cur = await this.getManifest(repo, reference);
    for (let depth = 0; depth < 3; depth++) {
      const parsed = parseManifestOrIndex(cur.bytes, cur.descriptor.mediaType);
      if (parsed.kind === "manifest") return { ...cur, manifest: parsed.manifest };
      const child = selectPlatform(parsed.index, platform.os, platform.arch, `"${repo}:${reference}"`);
      const next = await this.getManifest(repo, child.digest);
      if (next.descriptor.size !== child.size) {
        throw new RegistryError(`Cannot verify manifest "${child.digest}": size differs from the index`, {
          code: "registry.digest-mismatch",
        });
      }
      cur = {
        descriptor: {
          ...next.descriptor,
          mediaType: isIndexMediaType(child.mediaType) ? child.mediaType : next.descriptor.mediaType,
        },
        bytes: next.bytes,
      };
    }
    throw new RegistryError(`Cannot resolve "${repo}:${reference}": indexes nested too deep`, {
      code: "registry.bad-manifest",
    });
  }

  async #blobResponse(repo: string, digest: Digest, from: number): Promise<Response> {
    const res = await this.#request(
      {
        method: "GET",
        url: this.#url(`${repo}/blobs/${digest}`),
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
   */
  async openBlob(
    repo: string,
    desc: Pick<Descriptor, "digest" | "size">,
  ): Promise<ReadableStream<Uint8Array>> {
    const digest = parseDigest(desc.digest);
    const s = this.#settings;
    let reader = (await this.#blobResponse(repo, digest, 0)).body!.getReader();
    let received = 0, skip = 0, attempts = 0;
    const resume = async (why: unknown) => {
      if (s.signal?.aborted || attempts >= s.retries) throw why;
      attempts++;
      s.log.debug(`resuming blob at byte ${received}: ${why instanceof Error ? why.message : why}`, {
        digest,
      });
      await reader.cancel().catch(() => {});
      await new Promise((r) => setTimeout(r, backoffMs(attempts, s)));
      const res = await this.#blobResponse(repo, digest, received);
      if (res.status === 206) {
        const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
        if (!m || Number(m[1]) !== received) {
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

  /** True when `repo` has blob `digest` (HEAD). */
  async hasBlob(repo: string, digest: Digest, scopes = [`repository:${repo}:pull`]): Promise<boolean> {
    const res = await this.#request(
      { method: "HEAD", url: this.#url(`${repo}/blobs/${parseDigest(digest)}`) },
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
   * bytes (called again on a retry). `mountFrom` names a repository of this registry to mount from.
   */
  async pushBlob(
    repo: string,
    desc: Pick<Descriptor, "digest" | "size">,
    open: () => Promise<ReadableStream<Uint8Array>>,
    opts: { mountFrom?: string } = {},
  ): Promise<"exists" | "mounted" | "uploaded"> {
    const push = [`repository:${repo}:pull,push`];
    const scopes = opts.mountFrom && opts.mountFrom !== repo
      ? [...push, `repository:${opts.mountFrom}:pull`]
      : push;
    if (await this.hasBlob(repo, desc.digest, scopes)) return "exists";
    const start = new URL(this.#url(`${repo}/blobs/uploads/`));
    if (opts.mountFrom && opts.mountFrom !== repo) {
      start.searchParams.set("mount", desc.digest);
      start.searchParams.set("from", opts.mountFrom);
    }
    let res = await this.#request(
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
    let location = new URL(res.headers.get("location") ?? "", this.#base);
    const noRetry = () => false;
    if (this.#chunkSize !== undefined && desc.size > this.#chunkSize) {
      location = await this.#uploadChunks(repo, desc, open, scopes, location, this.#chunkSize);
      location.searchParams.set("digest", desc.digest);
      res = await this.#request(
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
      res = await this.#request(
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

  /**
   * The PATCH loop of a chunked upload; resolves with the location to finish it at. A chunk that
   * fails (broken connection, 5xx, 416, 404) is not resent blindly: the registry may have kept part
   * of it. Its upload location is asked for its progress (`GET` → 204 with `Range: 0-<last>`) and the
   * upload goes on from the offset it reports, the blob re-opened and skipped to there, with
   * backoff and at most `retries` failures in a row. When the registry cannot say, or says
   * something impossible, the upload starts over once from scratch; then it fails.
   */
  async #uploadChunks(
    repo: string,
    desc: Pick<Descriptor, "digest" | "size">,
    open: () => Promise<ReadableStream<Uint8Array>>,
    scopes: string[],
    first: URL,
    chunkSize: number,
  ): Promise<URL> {
    const what = `"${desc.digest}" to "${repo}"`;
    let location = first;
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
          const res = await this.#request(
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
            location = new URL(res.headers.get("location") ?? location.href, this.#base);
            failures = 0;
            continue;
          }
          failure = await statusError(res, `upload a chunk of ${what}`);
          // 404: distribution refuses an upload whose stored size differs from its state (part of a
          // body arrived, and fetch re-sent the request on a fresh connection by itself)
          if (!(res.status >= 500 || res.status === 416 || res.status === 404)) throw failure;
        } catch (err) {
          if (err === failure || this.#settings.signal?.aborted) throw err;
          // a RegistryError here is ours (auth, redirects): only a broken connection is recovered
          if (err instanceof RegistryError && err.code !== "registry.unreachable") throw err;
          failure = err;
        }
        await chunks.return(undefined);
        const reason = failure instanceof Error ? failure.message : String(failure);
        failures++;
        const progress = failures <= this.#settings.retries
          ? await this.#uploadProgress(repo, scopes, location, failures)
          : undefined;
        // The registry holds at least what it acknowledged and at most what it was sent.
        if (progress && progress.offset >= offset && progress.offset <= offset + chunk.byteLength) {
          this.#settings.log.info(`resuming upload of ${desc.digest} at byte ${progress.offset}`, {
            repository: repo,
            reason,
          });
          offset = progress.offset;
          location = progress.location;
        } else if (!restarted) {
          restarted = true;
          this.#settings.log.info(`restarting upload of ${desc.digest} from scratch`, {
            repository: repo,
            reason,
            registrySays: progress ? `${progress.offset} bytes` : "no progress",
          });
          await this.#abandonUpload(repo, scopes, location);
          location = await this.#startUpload(repo, desc, scopes);
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
   * How much of an upload the registry holds: `GET <location>` → 204 with `Range: 0-<last>` and a
   * fresh `Location`, after backing off. Undefined when it does not answer that way (no resume
   * support, an expired upload). "0-0" is read as nothing yet (distribution says so for 0 and for
   * 1 byte); a registry holding 1 byte after all fails the final digest check, it stores nothing wrong.
   */
  async #uploadProgress(
    repo: string,
    scopes: string[],
    location: URL,
    attempt: number,
  ): Promise<{ offset: number; location: URL } | undefined> {
    await sleep(backoffMs(attempt, this.#settings), this.#settings.signal);
    let res: Response;
    try {
      res = await this.#request({ method: "GET", url: location.href }, repo, scopes);
    } catch (err) {
      if (this.#settings.signal?.aborted) throw err;
      return undefined;
    }
    await res.body?.cancel();
    const range = res.headers.get("range")?.trim() ?? "";
    const m = /^(?:bytes=)?0-(\d+)$/.exec(range);
    if (res.status !== 204 || !m) {
      this.#settings.log.debug(`no upload progress: registry answered ${res.status} (Range "${range}")`, {
        repository: repo,
      });
      return undefined;
    }
    return {
      offset: m[1] === "0" ? 0 : Number(m[1]) + 1,
      location: new URL(res.headers.get("location") ?? location.href, this.#base),
    };
  }

  /** Starts a plain upload session (POST); resolves with its location. */
  async #startUpload(repo: string, desc: Pick<Descriptor, "digest">, scopes: string[]): Promise<URL> {
    const res = await this.#request(
      { method: "POST", url: this.#url(`${repo}/blobs/uploads/`), headers: { "content-length": "0" } },
      repo,
      scopes,
    );
    if (res.status !== 202) throw await statusError(res, `start upload of "${desc.digest}" to "${repo}"`);
    await res.body?.cancel();
    return new URL(res.headers.get("location") ?? "", this.#base);
  }

  /** Cancels an upload session we give up on (best effort: it expires anyway). */
  async #abandonUpload(repo: string, scopes: string[], location: URL): Promise<void> {
    try {
      const res = await this.#request({ method: "DELETE", url: location.href, retries: 0 }, repo, scopes);
      await res.body?.cancel();
    } catch (err) {
      if (this.#settings.signal?.aborted) throw err;
    }
  }

  /** Puts manifest `bytes` under `reference` (a tag or its digest). Push blobs first. */
  async putManifest(repo: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<Digest> {
    const res = await this.#request(
      {
        method: "PUT",
        url: this.#url(`${repo}/manifests/${reference}`),
        headers: { "content-type": mediaType },
        body: () => bytes,
      },
      repo,
      [`repository:${repo}:pull,push`],
    );
    if (res.status !== 201) {
      throw await statusError(res, `put manifest "${repo}:${reference}"`, { repository: repo });
    }
    await res.body?.cancel();
    return sha256Digest(bytes);
  }
}

/**
 * Re-cuts a byte stream into chunks of exactly `size` bytes (the last may be shorter), leaving out
 * its first `skip` bytes (a resumed upload). Returning early cancels the stream.
 */
async function* rechunk(
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
