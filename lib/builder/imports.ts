/**
 * Import acquisition (spec §1.4, §3.3 step 1): brings every `imports:` item of a layer onto the host
 * and hashes it for the cache key.
 *
 * - Without `dest`, an item lands in `<importDir>/<basename>` (mounted read-only at
 *   /stacker/imports in the container); entries no longer listed are removed.
 * - With `dest`, an item is staged under `<stagingDir>/<n>/` at its final absolute path, following
 *   the placement table of §1.4, and the staged tree becomes an overlay dir (its own layer).
 * - Local paths are copied with `cp -a`; http(s) is downloaded once, hash-checked while streaming,
 *   and revalidated with ETag / Last-Modified / Content-Length; `stacker://L/p` is read from an
 *   earlier layer through a callback, and its `hash`, like every other, is compared.
 */
import { createHash } from "node:crypto";
import { BuildError } from "../util/errors.ts";
import { silentLogger } from "../util/log.ts";
import type { Logger } from "../util/log.ts";
import type { ImportKey } from "./build_cache.ts";
import { fileDigest, pathHash } from "./tree_hash.ts";
import { importKindOf, type ImportSpec, type OverlayDirSpec } from "../stackerfile/mod.ts";

/** Copies `path` (a file or directory) out of built layer `layer` to the host path `dest`. */
export type StackerSourceReader = (layer: string, path: string, dest: string) => Promise<void>;

export interface AcquireImportsOptions {
  readonly layer: string;
  readonly imports: readonly ImportSpec[];
  /** `<stacker-dir>/imports/<layer>`: cache of dest-less imports and of downloads. */
  readonly importDir: string;
  /** `<stacker-dir>/imports-copy/<layer>`: staging roots for dest imports. */
  readonly stagingDir: string;
  /** Every http(s) import must carry a hash (`--require-hash`). */
  readonly requireHash?: boolean;
  /** Needed when an import is `stacker://…`. */
  readonly readStackerPath?: StackerSourceReader;
  readonly log?: Logger;
  readonly signal?: AbortSignal;
}

export interface AcquiredImports {
  /** Cache key part: one entry per import (key = path, plus ` -> dest` for dest imports). */
  readonly keys: Record<string, ImportKey>;
  /** Staged dest imports, each a tree to lay over the rootfs at "/" and pack as its own layer. */
  readonly overlayDirs: OverlayDirSpec[];
}

/** Files in the import dir that are ours, not imports. */
const RESERVED = new Set([".stacker-imports.json", ".stacker-run.sh"]);
const META = ".stacker-imports.json";

interface DownloadMeta {
  readonly url: string;
  readonly hash: string;
  readonly etag?: string;
  readonly lastModified?: string;
  readonly size: number;
}

/** The last non-empty component of a path or URL, without query. */
export function importBasename(path: string): string {
  const noQuery = importKindOf(path) === "http" ? new URL(path).pathname : path;
  const parts = noQuery.split("/").filter((p) => p);
  return parts.at(-1) ?? "";
}

/** Normalises a `hash:` value to `sha256:<lower hex>`; throws BuildError when it is malformed. */
export function normalizeHash(hash: string, path: string): string {
  const h = hash.toLowerCase().replace(/^sha256:/, "");
  if (!/^[0-9a-f]{64}$/.test(h)) {
    throw new BuildError(`Given hash "${hash}" is not valid for import "${path}"`, {
      code: "build.bad-import-hash",
      context: { import: path },
    });
  }
  return `sha256:${h}`;
}

/**
 * Where an item lands under a staging root for `dest` (§1.4): a dest ending in `/` takes the item's
 * basename unless the path itself ends in `/` ("its contents"). A directory's contents go to the
 * target; a file becomes the target.
 */
export function placeImport(path: string, dest: string): string {
  const base = importBasename(path);
  const target = dest.endsWith("/") && !path.endsWith("/") ? dest + base : dest.replace(/\/+$/, "");
  return target === "" ? "/" : target;
}

async function run(cmd: string, args: string[], what: string): Promise<void> {
  const r = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped", stdin: "null" }).output();
  if (!r.success) {
    throw new BuildError(`Cannot ${what}: ${new TextDecoder().decode(r.stderr).trim()}`, {
      code: "build.import-copy",
    });
  }
}

/** Copies a file or directory tree to `target`; a directory's contents are merged into `target`. */
async function copyInto(src: string, target: string): Promise<void> {
  const st = await Deno.lstat(src);
  await Deno.mkdir(target.slice(0, target.lastIndexOf("/")) || "/", { recursive: true });
  if (st.isDirectory) {
    await Deno.mkdir(target, { recursive: true });
    await run("cp", ["-a", "--reflink=auto", `${src}/.`, `${target}/`], `copy "${src}" to "${target}"`);
  } else {
    await Deno.remove(target, { recursive: true }).catch(() => {});
    await run("cp", ["-a", "--reflink=auto", src, target], `copy "${src}" to "${target}"`);
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

async function applyPerms(path: string, spec: ImportSpec): Promise<void> {
  const st = await Deno.lstat(path);
  if (st.isSymlink) return; // chmod/chown would follow it out of the tree
  if (spec.mode !== undefined) await Deno.chmod(path, spec.mode);
  if ((spec.uid ?? -1) >= 0 || (spec.gid ?? -1) >= 0) {
    await Deno.chown(
      path,
      (spec.uid ?? -1) >= 0 ? spec.uid! : null,
      (spec.gid ?? -1) >= 0 ? spec.gid! : null,
    );
  }
}

/**
 * Acquires every import of a layer (see the module doc). Throws BuildError on a missing local
 * path, a hash mismatch (nothing is kept), a missing hash under `requireHash`, two dest-less imports
 * with the same basename, or a failed download.
 */
export async function acquireImports(opts: AcquireImportsOptions): Promise<AcquiredImports> {
  const log = opts.log ?? silentLogger;
  await Deno.mkdir(opts.importDir, { recursive: true });
  const meta = await readMeta(opts.importDir);
  const keys: Record<string, ImportKey> = {};
  const overlayDirs: OverlayDirSpec[] = [];
  const keep = new Set<string>();
  const newMeta: Record<string, DownloadMeta> = {};

  await Deno.remove(opts.stagingDir, { recursive: true }).catch(() => {});
  for (const [i, spec] of opts.imports.entries()) {
    opts.signal?.throwIfAborted();
    const kind = spec.kind ?? importKindOf(spec.path);
    const base = importBasename(spec.path);
    const want = spec.hash !== undefined ? normalizeHash(spec.hash, spec.path) : undefined;
    if (kind === "http" && want === undefined && opts.requireHash) {
      throw new BuildError(`Remote import needs a hash in yaml for path: ${spec.path}`, {
        code: "build.import-needs-hash",
        context: { layer: opts.layer, import: spec.path },
      });
    }
    // Where the acquired item sits on the host before placement.
    let acquired: string;
    if (kind === "http") {
      const name = importName(spec, i);
      const got = await download(spec.path, `${opts.importDir}/${name}`, meta[name], want, log, opts.signal);
      newMeta[name] = got;
      keep.add(name);
      acquired = `${opts.importDir}/${name}`;
    } else if (kind === "stacker") {
      const m = /^stacker:\/\/([^/]+)\/(.*)$/.exec(spec.path);
      if (!m || !opts.readStackerPath) {
        throw new BuildError(
          `Cannot import "${spec.path}": not a stacker://<layer>/<path> of a built layer`,
          {
            code: "build.bad-stacker-import",
            context: { layer: opts.layer, import: spec.path },
          },
        );
      }
      acquired = `${opts.importDir}/.stacker-url-${i}`;
      await Deno.remove(acquired, { recursive: true }).catch(() => {});
      await opts.readStackerPath(m[1], "/" + m[2].replace(/\/+$/, ""), acquired);
      keep.add(`.stacker-url-${i}`);
    } else {
      acquired = spec.path.replace(/(.)\/+$/, "$1");
      if (!(await exists(acquired))) {
        throw new BuildError(`Cannot import "${spec.path}": it does not exist`, {
          code: "build.import-missing",
          context: { layer: opts.layer, import: spec.path },
        });
      }
    }

    // A download's mode may be changed by `mode:` below, so its key is its content digest.
    const { kind: itemKind, hash } = kind === "http"
      ? { kind: "file" as const, hash: newMeta[importName(spec, i)].hash }
      : await pathHash(acquired);
    if (want !== undefined && itemKind === "file" && kind !== "http") {
      const actual = await fileDigest(acquired);
      if (actual !== want) {
        throw new BuildError(
          `The requested hash of "${spec.path}" import is different than the actual hash: ${want} != ${actual}`,
          { code: "build.import-hash-mismatch", context: { layer: opts.layer, import: spec.path } },
        );
      }
    }

    if (spec.dest === undefined) {
      if (kind !== "http") {
        if (keep.has(base) || base in newMeta) {
          throw new BuildError(`Cannot import "${spec.path}": another import is also named "${base}"`, {
            code: "build.import-duplicate",
            context: { layer: opts.layer, import: spec.path },
          });
        }
        keep.add(base);
        await syncCopy(acquired, `${opts.importDir}/${base}`, hash);
      }
      await applyPerms(`${opts.importDir}/${base}`, spec);
      keys[spec.path] = { kind: itemKind, hash };
    } else {
      const root = `${opts.stagingDir}/${i}`;
      const target = root + placeImport(spec.path, spec.dest);
      await copyInto(acquired, target);
      await applyPerms(target, spec);
      overlayDirs.push({ source: root, dest: "/" });
      keys[`${spec.path} -> ${spec.dest}`] = { kind: itemKind, hash, dest: spec.dest };
    }
  }

  // Stale entries: listed no more (URL changed, import removed).
  for await (const e of Deno.readDir(opts.importDir)) {
    if (!keep.has(e.name) && !RESERVED.has(e.name)) {
      log.debug(`removing stale import ${e.name}`, { layer: opts.layer });
      await Deno.remove(`${opts.importDir}/${e.name}`, { recursive: true });
    }
  }
  await Deno.writeTextFile(`${opts.importDir}/${META}`, JSON.stringify(newMeta));
  return { keys, overlayDirs };
}

function importName(spec: ImportSpec, i: number): string {
  const base = importBasename(spec.path);
  return spec.dest === undefined ? base : `.download-${i}-${base}`;
}

/** Copies `src` to `dst` unless `dst` already holds the same tree (by hash). */
async function syncCopy(src: string, dst: string, hash: string): Promise<void> {
  if (await exists(dst)) {
    if ((await pathHash(dst)).hash === hash) return;
    await Deno.remove(dst, { recursive: true });
  }
  await copyInto(src, dst);
}

async function readMeta(dir: string): Promise<Record<string, DownloadMeta>> {
  try {
    return JSON.parse(await Deno.readTextFile(`${dir}/${META}`));
  } catch {
    return {};
  }
}

/**
 * Downloads `url` to `dest` unless the copy there is still current. Reuse rules: a pinned hash
 * equal to the cached file's needs no network; otherwise a conditional GET (ETag /
 * Last-Modified) answered 304, or, without validators, a HEAD whose Content-Length and
 * X-Checksum-Sha256 agree with the copy. An unreachable server with a cached copy is a warning
 * (offline builds). The body streams to a temp file, hashed as it goes; a mismatch deletes it.
 */
async function download(
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
    if (!prev.etag && !prev.lastModified) {
      try {
        const head = await fetch(url, { method: "HEAD", signal });
        await head.body?.cancel();
        const len = head.headers.get("content-length");
        const sum = head.headers.get("x-checksum-sha256");
        if (
          head.ok && len !== null && Number(len) === prev.size &&
          (!sum || `sha256:${sum.toLowerCase()}` === prev.hash)
        ) {
          return prev;
        }
      } catch (err) {
        log.warn(`Cannot revalidate import "${url}": ${(err as Error).message}; using the cached copy`);
        return prev;
      }
    }
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
