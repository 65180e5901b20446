/**
 * Test servers around the real registry: a fault-injecting proxy (corrupt, truncate, 429/500,
 * redirect, record requests) and a token server signing real ES256 JWTs the registry trusts.
 */
import { freePort } from "../../scripts/fixtures/mod.ts";

export interface SeenRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Headers;
}

/** Decides a reply instead of the registry (return undefined to forward). */
export type Fault = (req: Request, url: URL) => Promise<Response | undefined> | Response | undefined;
/** Rewrites the registry's reply on its way back. */
export type Rewrite = (res: Response, url: URL) => Promise<Response> | Response;

export interface Proxy extends AsyncDisposable {
  readonly host: string;
  readonly url: string;
  readonly seen: SeenRequest[];
  fault?: Fault;
  rewrite?: Rewrite;
}

/**
 * A proxy on `hostname` (default 127.0.0.1) forwarding to `target` ("http://127.0.0.1:PORT");
 * `forwardHeaders` may edit the headers it sends on.
 */
export function startProxy(
  target: string,
  hostname = "127.0.0.1",
  forwardHeaders?: (headers: Headers) => void,
): Proxy {
  const port = freePort();
  const host = `${hostname}:${port}`;
  const proxy: Proxy = {
    host,
    url: `http://${host}`,
    seen: [],
    [Symbol.asyncDispose]: async () => {
      await server.shutdown();
    },
  };
  const server = Deno.serve({ hostname, port, onListen: () => {} }, async (req) => {
    const url = new URL(req.url);
    proxy.seen.push({ method: req.method, path: url.pathname + url.search, headers: req.headers });
    const injected = await proxy.fault?.(req, url);
    if (injected) {
      await req.body?.cancel();
      return injected;
    }
    const headers = new Headers(req.headers);
    headers.delete("host");
    forwardHeaders?.(headers);
    const res = await fetch(`${target}${url.pathname}${url.search}`, {
      method: req.method,
      headers,
      body: req.body,
      redirect: "manual",
    });
    const out = new Headers(res.headers);
    const loc = out.get("location");
    if (loc) out.set("location", loc.replace(target, proxy.url));
    const www = out.get("www-authenticate");
    if (www) out.set("www-authenticate", www);
    const forwarded = new Response(res.body, { status: res.status, headers: out });
    return proxy.rewrite ? await proxy.rewrite(forwarded, url) : forwarded;
  });
  return proxy;
}

/** A plain server answering with `handler` (a blob host for redirects). */
export function startServer(handler: (req: Request) => Response | Promise<Response>): Proxy {
  const port = freePort();
  const host = `127.0.0.1:${port}`;
  const seen: SeenRequest[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, (req) => {
    const u = new URL(req.url);
    seen.push({ method: req.method, path: u.pathname + u.search, headers: req.headers });
    return handler(req);
  });
  return { host, url: `http://${host}`, seen, [Symbol.asyncDispose]: () => server.shutdown() };
}

async function sh(args: string[]): Promise<void> {
  const out = await new Deno.Command(args[0], { args: args.slice(1), stdout: "null", stderr: "piped" })
    .output();
  if (out.code !== 0) throw new Error(`${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

function b64url(data: Uint8Array | string): string {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export interface TokenServer extends AsyncDisposable {
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  readonly rootCertBundle: string;
  /** The scopes of each token request, and whether it carried the right basic credentials. */
  readonly requests: { scopes: string[]; authed: boolean }[];
}

/**
 * A token server: ES256 key and self-signed certificate made with openssl in `dir`; tokens carry
 * the certificate in `x5c` and grant what was asked, for `user`/`password` when they are set
 * (wrong credentials: 401).
 */
export async function startTokenServer(
  dir: string,
  creds?: { user: string; password: string },
): Promise<TokenServer> {
  const key = `${dir}/token.key`,
    crt = `${dir}/token.crt`,
    der = `${dir}/token.der`,
    pk8 = `${dir}/token.pk8`;
  await sh(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key]);
  await sh(["openssl", "pkcs8", "-topk8", "-nocrypt", "-in", key, "-outform", "DER", "-out", pk8]);
  await sh([
    "openssl",
    "req",
    "-x509",
    "-new",
    "-key",
    key,
    "-days",
    "2",
    "-subj",
    "/CN=token-issuer",
    "-out",
    crt,
  ]);
  await sh(["openssl", "x509", "-in", crt, "-outform", "DER", "-out", der]);
  await Deno.chmod(dir, 0o755);
  const signKey = await crypto.subtle.importKey(
    "pkcs8",
    await Deno.readFile(pk8),
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["sign"],
  );
  const x5c = btoa(String.fromCharCode(...await Deno.readFile(der)));
  const port = freePort();
  const service = "stacker-ts-test-registry", issuer = "stacker-ts-test-issuer";
  const requests: { scopes: string[]; authed: boolean }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port, onListen: () => {} }, async (req) => {
    const u = new URL(req.url);
    const scopes = u.searchParams.getAll("scope");
    const auth = req.headers.get("authorization");
    const authed = creds !== undefined && auth === `Basic ${btoa(`${creds.user}:${creds.password}`)}`;
    requests.push({ scopes, authed });
    if (creds && !authed) return new Response("{}", { status: 401 });
    const now = Math.floor(Date.now() / 1000);
    const access = scopes.map((s) => {
      const [type, ...rest] = s.split(":");
      const actions = rest.pop()!.split(",");
      return { type, name: rest.join(":"), actions };
    });
    const header = b64url(JSON.stringify({ typ: "JWT", alg: "ES256", x5c: [x5c] }));
    const claims = b64url(JSON.stringify({
      iss: issuer,
      sub: creds?.user ?? "anonymous",
      aud: service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: crypto.randomUUID(),
      access,
    }));
    const sig = new Uint8Array(
      await crypto.subtle.sign(
        { name: "ECDSA", hash: "SHA-256" },
        signKey,
        new TextEncoder().encode(`${header}.${claims}`),
      ),
    );
    return Response.json({ token: `${header}.${claims}.${b64url(sig)}`, expires_in: 300 });
  });
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundle: crt,
    requests,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}
