/**
 * The build cache (`<stacker-dir>/build.cache`, spec §3.5 with our complete keys): one entry per
 * layer name holding the key it was built with and the manifest it produced. A lookup compares the
 * key field by field, in a fixed order, and says why it missed with stacker's own phrases
 * (`cache miss because …`). The file is versioned JSON replaced atomically; an unreadable or
 * foreign-version file is discarded, never trusted.
 */
import type { Descriptor } from "../oci/types.ts";
import type { Logger } from "../util/log.ts";
import { atomicWriteFile } from "../oci/mod.ts";

/** Bumped whenever the key or entry shape changes: older files are discarded whole. */
export const CACHE_VERSION = 1001;

/** The hash of one import as the cache saw it. */
export interface ImportKey {
  readonly kind: "file" | "dir";
  readonly hash: string;
  /** Part of the key: a moved dest is a different image. */
  readonly dest?: string;
}

/** Everything a layer's output depends on. Equal keys ⇒ equal output. */
export interface CacheKey {
  /** Canonical JSON of the parsed definition (post-substitution, absolute paths). */
  readonly definition: string;
  /** Content digest of the base: manifest digest, tar digest, parent's key hash, or "" for scratch. */
  readonly base: string;
  readonly sourceDateEpoch: number | null;
  /** Import path → its hash, for every import (with or without dest, stacker:// included). */
  readonly imports: Readonly<Record<string, ImportKey>>;
  /** Overlay dir (`<source> -> <dest>`) → tree hash. */
  readonly overlayDirs: Readonly<Record<string, string>>;
  /**
   * Overlay dir → relative path → hash of that entry (`treeEntries`). Not compared by itself (the
   * tree hashes above decide); it names the files that changed in the miss message.
   */
  readonly overlayDirFiles?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** sha256 of the sorted environment that reaches the run script. */
  readonly runEnv: string;
  /** Output layer types requested (sorted). A cached entry with more types still serves fewer. */
  readonly layerTypes: readonly string[];
  /** dm-verity on squashfs/erofs layers; present only when such a type is requested. */
  readonly verity?: boolean;
  /** The layer has binds: never a hit. */
  readonly hasBinds: boolean;
}

export interface CacheEntry {
  readonly name: string;
  readonly key: CacheKey;
  /** Layer type → manifest descriptor in the output layout; empty for build_only layers. */
  readonly manifests: Readonly<Record<string, Descriptor>>;
  readonly buildOnly: boolean;
  /** Storage snapshot name holding this layer's rootfs (for built children, stacker:// and grab). */
  readonly snapshot?: string;
}

export type CacheLookup =
  | { readonly hit: true; readonly entry: CacheEntry }
  | { readonly hit: false; readonly reason: string };

interface CacheFile {
  version: number;
  cache: Record<string, CacheEntry>;
}

export interface CompareOptions {
  /** List the changed files of every changed overlay dir (`--debug`), not only of the first two. */
  readonly debug?: boolean;
}

/**
 * Why `want` does not match `have`, or undefined when it does. Checks in stacker's order:
 * binds, definition, base, epoch, imports, overlay dirs, run environment, layer types, verity.
 * An overlay dir miss is several lines, as stacker logs it: the count, then per changed dir
 * "Changed overlay_dir: <source>", "Contents that changed:" and the changed paths; without
 * `debug` only two dirs are listed when more than two changed, followed by "and N other
 * overlay_dirs. use --debug for complete output".
 */
export function compareKeys(have: CacheKey, want: CacheKey, opts: CompareOptions = {}): string | undefined {
  if (want.hasBinds) return "rebuilding cached layer due to use of binds in stacker file";
  if (have.definition !== want.definition) return "cache miss because layer definition was changed";
  if (have.base !== want.base) return "cache miss because base layer changed";
  if (have.sourceDateEpoch !== want.sourceDateEpoch) return "cache miss because SOURCE_DATE_EPOCH changed";
  for (const [path, k] of Object.entries(want.imports)) {
    const old = have.imports[path];
    if (!old) return `cache miss because of new import: ${path}`;
    if (old.kind !== k.kind || old.dest !== k.dest) {
      return `cache miss because import content changed: ${path}`;
    }
    if (old.hash !== k.hash) {
      return k.kind === "dir"
        ? `cache miss because import dir content changed: ${path}`
        : `cache miss because import content changed: ${path}`;
    }
  }
  for (const path of Object.keys(have.imports)) {
    if (!(path in want.imports)) return `cache miss because import was removed: ${path}`;
  }
  const changed = Object.keys({ ...have.overlayDirs, ...want.overlayDirs })
    .filter((s) => have.overlayDirs[s] !== want.overlayDirs[s])
    .sort();
  if (changed.length > 0) return overlayDirsMiss(have, want, changed, opts.debug ?? false);
  if (have.runEnv !== want.runEnv) return "cache miss because build environment changed";
  if (!want.layerTypes.every((t) => have.layerTypes.includes(t))) {
    return "missing some cached layer output types, building anyway";
  }
  if (want.verity !== undefined && (have.verity ?? false) !== want.verity) {
    return "cache miss because verity setting changed";
  }
  return undefined;
}

/** The source part of an overlay dir's key (`<source> -> <dest>`). */
function overlaySource(dirKey: string): string {
  const i = dirKey.lastIndexOf(" -> ");
  return i < 0 ? dirKey : dirKey.slice(0, i);
}

function overlayDirsMiss(have: CacheKey, want: CacheKey, changed: readonly string[], debug: boolean): string {
  const lines = [`cache miss because content of ${changed.length} overlay dirs changed:`];
  for (let i = 0; i < changed.length; i++) {
    const dir = changed[i];
    const source = overlaySource(dir);
    lines.push(`Changed overlay_dir: ${source}`, "Contents that changed:");
    const before = have.overlayDirFiles?.[dir] ?? {};
    const after = want.overlayDirFiles?.[dir] ?? {};
    const paths = Object.keys({ ...before, ...after }).filter((p) => before[p] !== after[p]).sort();
    for (const p of paths) lines.push(`${source.replace(/\/+$/, "")}/${p}`);
    if (!debug && i === 1 && changed.length > 2) {
      lines.push(`and ${changed.length - 2} other overlay_dirs. use --debug for complete output`);
      break;
    }
  }
  return lines.join("\n");
}

/** A content hash of a key, so that a built child's base key changes whenever its parent's does. */
export async function keyDigest(key: CacheKey): Promise<string> {
  const bytes = new TextEncoder().encode(JSON.stringify(key));
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return "sha256:" + Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Whether `e` has the shape of a CacheEntry (as far as lookups and pruning read it). A file of our
 * version can still hold anything (edited by hand, written by a broken tool): such entries are
 * dropped instead of crashing the build.
 */
function isEntryShape(e: unknown): e is CacheEntry {
  if (!isRecord(e) || typeof e.name !== "string" || !isRecord(e.key) || !isRecord(e.manifests)) return false;
  const k = e.key;
  const descriptorsOk = Object.values(e.manifests).every((d) => isRecord(d) && typeof d.digest === "string");
  return descriptorsOk && typeof k.definition === "string" && typeof k.base === "string" &&
    isRecord(k.imports) && isRecord(k.overlayDirs) && Array.isArray(k.layerTypes);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

export interface OpenCacheOptions {
  readonly log: Logger;
  /**
   * False when an entry's outputs are gone (manifest not in the layout, snapshot deleted):
   * such entries are pruned on open. A string also prunes, and is the reason a lookup of that
   * layer then gives (stacker's "cache miss because overlay_dir was missing: …").
   */
  readonly isValid?: (entry: CacheEntry) => boolean | string | Promise<boolean | string>;
  /** See `CompareOptions.debug`. */
  readonly debug?: boolean;
}

/**
 * The build cache of one stacker dir. Not safe across processes by itself: the caller holds the
 * stacker-dir lock for the whole build. `put` persists immediately (atomic replace), so a crash
 * never loses an entry whose outputs were already committed.
 */
export class BuildCache {
  readonly path: string;
  readonly #entries: Map<string, CacheEntry>;
  readonly #log: Logger;
  /** Why entries pruned on open are gone, when `isValid` said so. */
  readonly #pruned: Map<string, string>;
  readonly #debug: boolean;

  private constructor(
    path: string,
    entries: Map<string, CacheEntry>,
    log: Logger,
    pruned: Map<string, string>,
    debug: boolean,
  ) {
    this.path = path;
    this.#entries = entries;
    this.#log = log;
    this.#pruned = pruned;
    this.#debug = debug;
  }

  /** Opens (or starts) the cache at `path`; discards a foreign or unreadable file with a warning. */
  static async open(path: string, opts: OpenCacheOptions): Promise<BuildCache> {
    const entries = new Map<string, CacheEntry>();
    const pruned = new Map<string, string>();
    let text: string | undefined;
    try {
      text = await Deno.readTextFile(path);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
    if (text !== undefined) {
      let parsed: CacheFile | undefined;
      try {
        parsed = JSON.parse(text) as CacheFile;
      } catch {
        opts.log.warn(`discarding unreadable build cache ${path}`);
      }
      if (parsed && parsed.version !== CACHE_VERSION) {
        opts.log.info(
          `old cache version found, discarding build cache (${parsed.version} != ${CACHE_VERSION})`,
        );
      } else if (parsed && typeof parsed.cache === "object" && parsed.cache !== null) {
        for (const [name, entry] of Object.entries(parsed.cache)) {
          if (!isEntryShape(entry) || entry.name !== name) {
            opts.log.debug(`discarding malformed build cache entry`, { layer: name });
            continue;
          }
          const valid = opts.isValid ? await opts.isValid(entry) : true;
          if (valid !== true) {
            opts.log.debug(`pruning cache entry whose outputs are gone`, { layer: name });
            if (typeof valid === "string") pruned.set(name, valid);
            continue;
          }
          entries.set(name, entry);
        }
      }
    }
    return new BuildCache(path, entries, opts.log, pruned, opts.debug ?? false);
  }

  /** The entry for `name`, whatever its key. */
  get(name: string): CacheEntry | undefined {
    return this.#entries.get(name);
  }

  /** Hit when an entry for `name` exists and its key equals `key`; otherwise the reason (logged at info). */
  lookup(name: string, key: CacheKey): CacheLookup {
    const entry = this.#entries.get(name);
    const reason = entry
      ? compareKeys(entry.key, key, { debug: this.#debug })
      : (this.#pruned.get(name) ?? "cache miss because layer was not built before");
    if (entry && reason === undefined) {
      this.#log.info(`found cached layer ${name}`);
      return { hit: true, entry };
    }
    this.#log.info(reason!, { layer: name });
    return { hit: false, reason: reason! };
  }

  /** Records `entry` and writes the file atomically. */
  async put(entry: CacheEntry): Promise<void> {
    this.#entries.set(entry.name, entry);
    this.#pruned.delete(entry.name);
    await this.#save();
  }

  /** Forgets `name` (a failed rebuild must not leave a stale hit behind). */
  async delete(name: string): Promise<void> {
    if (this.#entries.delete(name)) await this.#save();
  }

  /** Every entry, for gc. */
  entries(): CacheEntry[] {
    return [...this.#entries.values()];
  }

  async #save(): Promise<void> {
    const file: CacheFile = { version: CACHE_VERSION, cache: Object.fromEntries(this.#entries) };
    await atomicWriteFile(this.path, JSON.stringify(file, null, 1));
  }
}
