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
  if (opts.srcCreds) args.push("--src-creds", `${opts.srcCreds.username}:${opts.srcCreds.password}`);
  if (opts.destCreds) args.push("--dest-creds", `${opts.destCreds.username}:${opts.destCreds.password}`);
  if (opts.insecure) args.push("--src-tls-verify=false", "--dest-tls-verify=false");
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
    if (err instanceof Deno.errors.NotFound) {
      throw new OciError(`Cannot copy "${src}": the scheme needs skopeo, which is not installed`, {
        code: "transport.no-skopeo",
        context: { src },
      });
    }
    throw err;
  }
  if (out.code !== 0) {
    const stderr = new TextDecoder().decode(out.stderr).trim().slice(-2000);
    throw new OciError(`Cannot copy "${src}" to "${dst}" with skopeo: ${stderr}`, {
      code: "transport.skopeo-failed",
      context: { src, dst, exit: out.code },
    });
  }
}
