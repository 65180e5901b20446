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
import { BuildError } from "../util/errors.ts";
import { ensurePrivateDir, parentOf } from "../util/private_dir.ts";
import { silentLogger } from "../util/log.ts";
import type { Logger } from "../util/log.ts";
import type { ImportKey } from "./build_cache.ts";
import { fileDigest, pathHash } from "./tree_hash.ts";
import { download, type DownloadMeta, DOWNLOADS_FILE, exists, readDownloads } from "./_import_download.ts";
import { type ImportKind, importKindOf, type ImportSpec, type OverlayDirSpec } from "../stackerfile/mod.ts";

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
const RESERVED = new Set([DOWNLOADS_FILE, ".stacker-run.sh"]);

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

/** What acquiring one layer's imports carries from item to item. */
interface Acquisition {
  readonly opts: AcquireImportsOptions;
  readonly log: Logger;
  /** Download metadata of the previous acquisition (to revalidate), and of this one. */
  readonly meta: Record<string, DownloadMeta>;
  readonly newMeta: Record<string, DownloadMeta>;
  /** Entries of the import dir this acquisition uses; the others are stale. */
  readonly keep: Set<string>;
}

/**
 * Acquires every import of a layer (see the module doc). Throws BuildError on a missing local
 * path, a hash mismatch (nothing is kept), a missing hash under `requireHash`, two dest-less imports
 * with the same basename, or a failed download.
 */
export async function acquireImports(opts: AcquireImportsOptions): Promise<AcquiredImports> {
  const log = opts.log ?? silentLogger;
  // Imports may be setuid (stacker:// of a layer's binary): only the building user enters here.
  await ensurePrivateDir(parentOf(opts.importDir));
  await ensurePrivateDir(parentOf(opts.stagingDir));
  await Deno.mkdir(opts.importDir, { recursive: true });
  const a: Acquisition = {
    opts,
    log,
    meta: await readDownloads(opts.importDir),
    newMeta: {},
    keep: new Set(),
  };
  const keys: Record<string, ImportKey> = {};
  const overlayDirs: OverlayDirSpec[] = [];

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
    const acquired = await fetchImport(a, spec, i, kind, want);
    const { kind: itemKind, hash } = await itemHashOf(a, spec, i, kind, want, acquired);

    if (spec.dest === undefined) {
      if (kind !== "http") {
        if (a.keep.has(base) || base in a.newMeta) {
          throw new BuildError(`Cannot import "${spec.path}": another import is also named "${base}"`, {
            code: "build.import-duplicate",
            context: { layer: opts.layer, import: spec.path },
          });
        }
        a.keep.add(base);
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
    if (!a.keep.has(e.name) && !RESERVED.has(e.name)) {
      log.debug(`removing stale import ${e.name}`, { layer: opts.layer });
      await Deno.remove(`${opts.importDir}/${e.name}`, { recursive: true });
    }
  }
  await Deno.writeTextFile(`${opts.importDir}/${DOWNLOADS_FILE}`, JSON.stringify(a.newMeta));
  return { keys, overlayDirs };
}

/** Brings import `i` onto the host (download, read from a built layer, or the local path itself); where it sits. */
async function fetchImport(
  a: Acquisition,
  spec: ImportSpec,
  i: number,
  kind: ImportKind,
  want: string | undefined,
): Promise<string> {
  const { opts } = a;
  if (kind === "http") {
    const name = importName(spec, i);
    const got = await download(
      spec.path,
      `${opts.importDir}/${name}`,
      a.meta[name],
      want,
      a.log,
      opts.signal,
    );
    a.newMeta[name] = got;
    a.keep.add(name);
    return `${opts.importDir}/${name}`;
  }
  if (kind === "stacker") {
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
    const acquired = `${opts.importDir}/.stacker-url-${i}`;
    await Deno.remove(acquired, { recursive: true }).catch(() => {});
    await opts.readStackerPath(m[1], "/" + m[2].replace(/\/+$/, ""), acquired);
    a.keep.add(`.stacker-url-${i}`);
    return acquired;
  }
  const acquired = spec.path.replace(/(.)\/+$/, "$1");
  if (!(await exists(acquired))) {
    throw new BuildError(`Cannot import "${spec.path}": it does not exist`, {
      code: "build.import-missing",
      context: { layer: opts.layer, import: spec.path },
    });
  }
  return acquired;
}

/**
 * The key hash of an acquired import; a file (not a download: that was checked as it streamed) is
 * checked against the wanted hash. A download's mode may be changed by `mode:`, so its key is its
 * content digest.
 */
async function itemHashOf(
  a: Acquisition,
  spec: ImportSpec,
  i: number,
  kind: ImportKind,
  want: string | undefined,
  acquired: string,
): Promise<{ kind: "file" | "dir"; hash: string }> {
  if (kind === "http") return { kind: "file", hash: a.newMeta[importName(spec, i)].hash };
  const item = await pathHash(acquired);
  if (want !== undefined && item.kind === "file") {
    const actual = await fileDigest(acquired);
    if (actual !== want) {
      throw new BuildError(
        `The requested hash of "${spec.path}" import is different than the actual hash: ${want} != ${actual}`,
        { code: "build.import-hash-mismatch", context: { layer: a.opts.layer, import: spec.path } },
      );
    }
  }
  return item;
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
