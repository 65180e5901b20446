/**
 * http(s) imports: downloaded once into the layer's import dir, hash-checked while streaming, and
 * revalidated on later builds (ETag / Last-Modified, else Content-Length and X-Checksum-Sha256).
 * What each download was is kept in `<importDir>/.stacker-imports.json`.
 */
import { createHash } from "node:crypto";
import { BuildError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";

/** The file in the import dir that records the downloads. */
export const DOWNLOADS_FILE = ".stacker-imports.json";

/** One download as recorded: where from, what it hashed to, and the server's validators. */
export interface DownloadMeta {
  readonly url: string;
  readonly hash: string;
  readonly etag?: string;
  readonly lastModified?: string;
  readonly size: number;
}

/** The downloads recorded in `dir` (none when the record is missing or unreadable). */
export async function readDownloads(dir: string): Promise<Record<string, DownloadMeta>> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/${DOWNLOADS_FILE}`));
  } catch {
    return {};
  }
}

/** True when something (even a dangling symlink) is at `path`. */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Downloads `url` to `dest` unless the copy there is still current. Reuse rules: a pinned hash
 * equal to the cached file's needs no network; otherwise a conditional GET (ETag /
 * Last-Modified) answered 304, or, without validators, a HEAD whose Content-Length and
 * X-Checksum-Sha256 agree with the copy. An unreachable server with a cached copy is a warning
 * (offline builds). The body streams to a temp file, hashed as it goes; a mismatch deletes it.
 */
export async function download(
  url: string,
  dest: string,
  prev: DownloadMeta | undefined,
  want: string | undefined,
  log: Logger,
  signal?: AbortSignal,
): Promise<DownloadMeta> {
  const cached = prev !== undefined && prev.url === url && (await exists(dest));
  if (cached && want !== undefined && prev.hash === want) return prev;
  const headers: Record<string, string> = {};
  if (cached) {
    if (prev.etag) headers["If-None-Match"] = prev.etag;
    if (prev.lastModified) headers["If-Modified-Since"] = prev.lastModified;
    if (!prev.etag && !prev.lastModified && await stillCurrent(url, prev, log, signal)) return prev;
  }
  let res: Response;
  try {
    res = await fetch(url, { headers, signal });
  } catch (err) {
    if (cached) {
      log.warn(`Cannot revalidate import "${url}": ${(err as Error).message}; using the cached copy`);
      return prev;
    }
    throw new BuildError(`Cannot download import "${url}": ${(err as Error).message}`, {
      code: "build.import-download",
      context: { import: url },
      cause: err,
    });
  }
  if (res.status === 304 && cached) {
    await res.body?.cancel();
    return prev;
  }
  return await saveBody(url, res, dest, want, log);
}

/**
 * Without validators: true when a HEAD says the cached copy is current (same Content-Length, and
 * the same X-Checksum-Sha256 if sent), or when the server cannot be reached (with a warning).
 */
async function stillCurrent(
  url: string,
  prev: DownloadMeta,
  log: Logger,
  signal?: AbortSignal,
): Promise<boolean> {
  try {
    const head = await fetch(url, { method: "HEAD", signal });
    await head.body?.cancel();
    const len = head.headers.get("content-length");
    const sum = head.headers.get("x-checksum-sha256");
    return head.ok && len !== null && Number(len) === prev.size &&
      (!sum || `sha256:${sum.toLowerCase()}` === prev.hash);
  } catch (err) {
    log.warn(`Cannot revalidate import "${url}": ${(err as Error).message}; using the cached copy`);
    return true;
  }
}

/** Streams the body of a GET answer to `dest` through a temp file, hashed as it flows and checked. */
async function saveBody(
  url: string,
  res: Response,
  dest: string,
  want: string | undefined,
  log: Logger,
): Promise<DownloadMeta> {
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new BuildError(`Cannot download import "${url}": server answered ${res.status}`, {
      code: "build.import-download",
      context: { import: url, status: res.status },
    });
  }
  const header = res.headers.get("x-checksum-sha256");
  if (want !== undefined && header && `sha256:${header.toLowerCase()}` !== want) {
    await res.body.cancel();
    throw new BuildError(
      `Cannot download import "${url}": server says its hash is sha256:${header}, want ${want}`,
      {
        code: "build.import-hash-mismatch",
        context: { import: url },
      },
    );
  }
  const tmp = `${dest}.part-${crypto.randomUUID().slice(0, 8)}`;
  const h = createHash("sha256");
  let size = 0;
  try {
    const f = await Deno.open(tmp, { write: true, createNew: true, mode: 0o644 });
    try {
      for await (const chunk of res.body) {
        h.update(chunk);
        size += chunk.length;
        let off = 0;
        while (off < chunk.length) off += await f.write(chunk.subarray(off));
      }
    } finally {
      f.close();
    }
    const got = `sha256:${h.digest("hex")}`;
    if (want !== undefined && got !== want) {
      throw new BuildError(`Downloaded file hash does not match for "${url}": want ${want}, got ${got}`, {
        code: "build.import-hash-mismatch",
        context: { import: url },
      });
    }
    log.info(`imported file hash (after substitutions): ${url} ${got}`);
    await Deno.remove(dest, { recursive: true }).catch(() => {});
    await Deno.rename(tmp, dest);
    return {
      url,
      hash: got,
      size,
      etag: res.headers.get("etag") ?? undefined,
      lastModified: res.headers.get("last-modified") ?? undefined,
    };
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
}
