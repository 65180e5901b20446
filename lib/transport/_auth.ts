/**
 * Registry credentials and challenges: auth files (containers `auth.json`, docker `config.json`)
 * and `WWW-Authenticate` parsing. The environment is passed in; nothing here reads `Deno.env`.
 */
import { registerSecret } from "../util/secrets.ts";
import { join } from "../util/path.ts";
import { RegistryError } from "../util/errors.ts";

export interface Credentials {
  readonly username: string;
  readonly password: string;
}

/**
 * Candidate auth files, in containers/image order: `$REGISTRY_AUTH_FILE`,
 * `$XDG_RUNTIME_DIR/containers/auth.json`, `~/.config/containers/auth.json`, `~/.docker/config.json`.
 */
export function authFiles(env: Readonly<Record<string, string | undefined>>): string[] {
  const out: string[] = [];
  if (env.REGISTRY_AUTH_FILE) out.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) out.push(join(env.XDG_RUNTIME_DIR, "containers", "auth.json"));
  if (env.HOME) {
    out.push(join(env.HOME, ".config", "containers", "auth.json"));
    out.push(join(env.DOCKER_CONFIG ?? join(env.HOME, ".docker"), "config.json"));
  }
  return out;
}

/**
 * The credentials for `registry` (a host[:port]) and `repository` from the first auth file that
 * has an entry: the most specific `host/namespace/repo` key wins, then `host`, then
 * `https://host[/v1/]`. Unreadable files are skipped; a malformed `auth` value is an error.
 */
export async function lookupCredentials(
  registry: string,
  repository: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<Credentials | undefined> {
  const keys: string[] = [];
  const parts = repository.split("/");
  for (let i = parts.length; i > 0; i--) keys.push(`${registry}/${parts.slice(0, i).join("/")}`);
  keys.push(registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`);
  if (registry === "registry-1.docker.io") keys.push("docker.io", "https://index.docker.io/v1/");
  for (const file of authFiles(env)) {
    let auths: Record<string, { auth?: string; username?: string; password?: string }>;
    try {
      auths = (JSON.parse(await Deno.readTextFile(file)) as { auths?: typeof auths }).auths ?? {};
    } catch {
      continue;
    }
    for (const k of keys) {
      const e = auths[k];
      if (!e) continue;
      if (e.username !== undefined && e.password !== undefined) {
        registerSecret(e.password, "<password>");
        return { username: e.username, password: e.password };
      }
      if (!e.auth) continue;
      const decoded = new TextDecoder().decode(Uint8Array.from(atob(e.auth), (c) => c.charCodeAt(0)));
      const i = decoded.indexOf(":");
      if (i < 0) {
        throw new RegistryError(
          `Cannot read credentials for "${k}" in "${file}": auth is not "user:password"`,
          {
            code: "registry.bad-auth-file",
          },
        );
      }
      registerSecret(decoded.slice(i + 1), "<password>");
      registerSecret(e.auth, "<auth>");
      return { username: decoded.slice(0, i), password: decoded.slice(i + 1) };
    }
  }
  return undefined;
}

/** One parsed `WWW-Authenticate` challenge. */
export interface Challenge {
  readonly scheme: "bearer" | "basic" | string;
  readonly params: Readonly<Record<string, string>>;
}

/** Parses `Bearer realm="…",service="…",scope="…"` (quoted or token values). */
export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?/g;
  for (const p of m[2].matchAll(re)) {
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3];
  }
  return { scheme: m[1].toLowerCase(), params };
}

/** `Basic base64(user:password)`. */
export function basicAuth(c: Credentials): string {
  const bytes = new TextEncoder().encode(`${c.username}:${c.password}`);
  return `Basic ${btoa(String.fromCharCode(...bytes))}`;
}
