/** The skopeo fallback for schemes we do not speak natively: copy through a temporary OCI layout. */
import { OciError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";

/** Options of {@link skopeoCopy}. */
export interface SkopeoCopyOptions {
  readonly os?: string;
  readonly arch?: string;
  readonly srcCreds?: { username: string; password: string };
  readonly destCreds?: { username: string; password: string };
  /** Skip TLS verification (and allow http) on the docker side. */
  readonly insecure?: boolean;
  readonly log: Logger;
  readonly signal?: AbortSignal;
}

/**
 * Runs `skopeo copy src dst`. Throws OciError `transport.no-skopeo` when skopeo is not installed,
 * `transport.skopeo-failed` with its stderr when the copy fails.
 */
export async function skopeoCopy(src: string, dst: string, opts: SkopeoCopyOptions): Promise<void> {
  const args = ["copy", "--quiet"];
  if (opts.os) args.push("--override-os", opts.os);
  if (opts.arch) args.push("--override-arch", opts.arch);
  if (opts.insecure) args.push("--src-tls-verify=false", "--dest-tls-verify=false");
  // Credentials go to skopeo in a private auth file, never in its argv (`ps` shows argv to everyone).
  const authDir = opts.srcCreds || opts.destCreds
    ? await Deno.makeTempDir({ prefix: "stacker-skopeo-" })
    : "";
  if (opts.srcCreds) args.push("--src-authfile", await authFile(`${authDir}/src.json`, src, opts.srcCreds));
  if (opts.destCreds) {
    args.push("--dest-authfile", await authFile(`${authDir}/dest.json`, dst, opts.destCreds));
  }
  args.push(src, dst);
  opts.log.debug("skopeo copy", { src, dst });
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("skopeo", {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: opts.signal,
    })
      .output();
  } catch (err) {
    if (authDir) await Deno.remove(authDir, { recursive: true }).catch(() => {});
    if (err instanceof Deno.errors.NotFound) {
      throw new OciError(`Cannot copy "${src}": the scheme needs skopeo, which is not installed`, {
        code: "transport.no-skopeo",
        context: { src },
      });
    }
    throw err;
  }
  if (authDir) await Deno.remove(authDir, { recursive: true }).catch(() => {});
  if (out.code !== 0) {
    const stderr = new TextDecoder().decode(out.stderr).trim().slice(-2000);
    throw new OciError(`Cannot copy "${src}" to "${dst}" with skopeo: ${stderr}`, {
      code: "transport.skopeo-failed",
      context: { src, dst, exit: out.code },
    });
  }
}

/** Writes a containers auth file (mode 0600) for the registry of `ref` (`docker://host/…`). */
async function authFile(
  path: string,
  ref: string,
  c: { username: string; password: string },
): Promise<string> {
  const host = ref.replace(/^docker:\/\//, "").split("/")[0];
  const auth = btoa(String.fromCharCode(...new TextEncoder().encode(`${c.username}:${c.password}`)));
  await Deno.writeTextFile(path, JSON.stringify({ auths: { [host]: { auth } } }), { mode: 0o600 });
  return path;
}
