/**
 * The session core of the registry client: connecting (https, or http where allowed), the HTTP
 * client and its CA certificates, and every authenticated request (anonymous, basic, bearer tokens
 * with scopes and refresh). The blob and manifest modules see it only as a {@link RegistrySession}.
 */
import { registerSecret } from "../util/secrets.ts";
import { RegistryError } from "../util/errors.ts";
import { type Logger, silentLogger } from "../util/log.ts";
import { basicAuth, type Credentials, lookupCredentials, parseChallenge } from "./_auth.ts";
import { type HttpRequest, type HttpSettings, redact, send, smallBody, statusError } from "./_http.ts";

/** What the blob and manifest modules need of a session; nothing of it is public API. */
export interface RegistrySession {
  /** `host[:port]` of the registry. */
  readonly registry: string;
  /** Limits, signal and logger every request of the session shares. */
  readonly settings: HttpSettings;
  /** `<base>/v2/<path>`. */
  url(path: string): string;
  /** `ref` (a Location header) resolved against the registry's base URL. */
  resolve(ref: string): URL;
  /** Sends `req` with the auth `scopes` need, answering one 401 challenge (a second is an error). */
  request(req: Omit<HttpRequest, "authorization">, repo: string, scopes: string[]): Promise<Response>;
}

/** Options of {@link Session.open}; defaults in brackets. */
export interface SessionOptions {
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
  readonly retries?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly headerTimeoutMs?: number;
  readonly idleTimeoutMs?: number;
  readonly log?: Logger;
  readonly signal?: AbortSignal;
}

/** True for `localhost`, 127.0.0.0/8 and ::1, with or without a port. */
export function isLoopback(registry: string): boolean {
  // a bare IPv6 address has several colons and no port; otherwise strip `:port`, then brackets
  const bareV6 = !registry.startsWith("[") && registry.split(":").length > 2;
  const host = (bareV6 ? registry : registry.replace(/:\d+$/, "")).replace(/^\[|\]$/g, "");
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
export class Session implements RegistrySession, Disposable {
  readonly registry: string;
  readonly settings: HttpSettings;
  #base: string;
  readonly #client?: Deno.HttpClient;
  readonly #credentials?: Credentials;
  readonly #tokens = new Map<string, { value: string; expires: number }>();
  #basic = false;
  readonly #env: Readonly<Record<string, string | undefined>>;
  #credentialsLooked = false;
  #found?: Credentials;

  private constructor(opts: SessionOptions, base: string, client: Deno.HttpClient | undefined) {
    this.registry = opts.registry;
    this.#base = base;
    this.#client = client;
    this.#credentials = opts.credentials;
    this.#env = opts.env ?? {};
    this.settings = {
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
   * Throws `registry.unreachable`. The caller closes the session.
   */
  static async open(opts: SessionOptions): Promise<Session> {
    const cas = [...(opts.caCerts ?? []), ...(await certsFor(opts.registry))];
    const client = cas.length > 0 ? Deno.createHttpClient({ caCerts: cas }) : undefined;
    const httpFirst = cas.length === 0 && isLoopback(opts.registry);
    const self = new Session(opts, `${httpFirst ? "http" : "https"}://${opts.registry}`, client);
    try {
      await self.#ping({ ...self.settings, retries: 0 });
    } catch (err) {
      if ((!httpFirst && !self.settings.allowHttp) || opts.signal?.aborted) {
        self.close();
        throw err;
      }
      self.#base = `${httpFirst ? "https" : "http"}://${opts.registry}`;
      try {
        await self.#ping(self.settings);
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

  url(path: string): string {
    return `${this.#base}/v2/${path}`;
  }

  resolve(ref: string): URL {
    return new URL(ref, this.#base);
  }

  async #creds(repo: string): Promise<Credentials | undefined> {
    if (this.#credentials) return this.#credentials;
    if (!this.#credentialsLooked) {
      this.#found = await lookupCredentials(this.registry, repo, this.#env);
      this.#credentialsLooked = true;
    }
    return this.#found;
  }

  async request(req: Omit<HttpRequest, "authorization">, repo: string, scopes: string[]): Promise<Response> {
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
      const res = await send({ ...req, authorization }, this.settings);
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
    if (realm.protocol !== "https:" && !(realm.protocol === "http:" && this.settings.allowHttp)) {
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
    }, this.settings);
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
    registerSecret(value, "<token>");
    this.#tokens.set(key, { value, expires: Date.now() + ttl });
  }
}
