/**
 * Helper binaries (busybox, skopeo, umoci): the host's copy on PATH when there is one, else the copy
 * embedded in the compiled executable (vendor/bin/<arch>/<name>, listed with its sha256 in
 * vendor/manifest.json), written once to a per-user cache dir and verified by hash.
 *
 * An embedded file lives in the executable's virtual file system, which `Deno.Command` cannot
 * execute: hence the copy to `$XDG_CACHE_HOME/stacker-ts/helpers/<sha256>/<name>`. The hash in the
 * path means a new stacker-ts with a new helper never reuses an old copy.
 */
import { createHash } from "node:crypto";
import manifestJson from "../../vendor/manifest.json" with { type: "json" };
import { distLayout } from "./dist.ts";
import { StackerError } from "./errors.ts";
import type { Logger } from "./log.ts";
import { openFileChunks } from "./file_stream.ts";

/** Where one helper comes from for one architecture (a Debian package). */
export interface HelperSource {
  readonly package: string;
  readonly version: string;
  /** Debian architecture name (amd64, arm64). */
  readonly debArch: string;
  /** Path of the binary inside the package, without leading slash. */
  readonly path: string;
  readonly sha256: string;
}

export interface HelperEntry {
  readonly purpose: string;
  /** The binary runs inside build containers, so a host copy counts only if it is statically linked. */
  readonly static: boolean;
  /** Keyed by Deno's arch name (`Deno.build.arch`: x86_64, aarch64). */
  readonly arches: Readonly<Record<string, HelperSource>>;
}

export interface HelperManifest {
  readonly helpers: Readonly<Record<string, HelperEntry>>;
}

/** vendor/manifest.json, embedded as a module so it travels with `deno compile` and `deno run <url>`. */
export const HELPER_MANIFEST: HelperManifest = manifestJson as HelperManifest;

/** The names of every helper in the manifest, sorted. */
export function helperNames(): string[] {
  return Object.keys(HELPER_MANIFEST.helpers).sort();
}

/** The manifest entry of `name` for `arch`; throws StackerError `helper.unknown` / `helper.no-arch`. */
export function helperSource(name: string, arch: string = Deno.build.arch): HelperSource {
  const entry = HELPER_MANIFEST.helpers[name];
  if (!entry) {
    throw new StackerError(`Cannot find helper "${name}": it is not in vendor/manifest.json`, {
      code: "helper.unknown",
      context: { helper: name },
    });
  }
  const src = entry.arches[arch];
  if (!src) {
    throw new StackerError(`Cannot find helper "${name}": vendor/manifest.json has no entry for "${arch}"`, {
      code: "helper.no-arch",
      context: { helper: name, arch },
    });
  }
  return src;
}

export interface FindHelperOptions {
  readonly log: Logger;
  /** The process environment (read once by cli.ts): PATH, XDG_CACHE_HOME, HOME. */
  readonly env: Readonly<Record<string, string>>;
  /** Default `Deno.build.arch`. */
  readonly arch?: string;
  /**
   * Directory holding the embedded `<name>` files. Default: vendor/bin/<arch> next to this module,
   * which inside a compiled executable is its embedded copy; none when loaded over http(s).
   */
  readonly embeddedDir?: string;
  /** Skip the host's PATH (default false): for tests, and for hosts whose copy is known bad. */
  readonly ignorePath?: boolean;
}

/** "dist": the extracted dist file's own copy (hash-verified when it was extracted). */
export type HelperOrigin = "host" | "embedded" | "dist" | "missing";

export interface HelperStatus {
  readonly name: string;
  readonly origin: HelperOrigin;
  /** Absolute path: the host binary, or the embedded file (not yet copied to the cache). */
  readonly path?: string;
  /** The Debian package that provides it, for messages. */
  readonly package?: string;
  /** Why a candidate was passed over (e.g. a dynamically linked host busybox). */
  readonly note?: string;
}

/** `$XDG_CACHE_HOME/stacker-ts/helpers`, else `$HOME/.cache/stacker-ts/helpers`. */
export function helperCacheDir(env: Readonly<Record<string, string>>): string {
  const base = env.XDG_CACHE_HOME?.startsWith("/")
    ? env.XDG_CACHE_HOME
    : env.HOME
    ? `${env.HOME.replace(/\/$/, "")}/.cache`
    : undefined;
  if (!base) {
    throw new StackerError("Cannot place the helper cache: neither XDG_CACHE_HOME nor HOME is set", {
      code: "helper.no-cache-dir",
    });
  }
  return `${base}/stacker-ts/helpers`;
}

/** Where the cached copy of `name` with hash `sha256` lives (whether or not it exists yet). */
export function cachedHelperPath(
  name: string,
  sha256: string,
  env: Readonly<Record<string, string>>,
): string {
  return `${helperCacheDir(env)}/${sha256}/${name}`;
}

/** The embedded dir next to this module, or undefined when the module was not loaded from a file. */
export function defaultEmbeddedDir(arch: string = Deno.build.arch): string | undefined {
  const url = new URL(`../../vendor/bin/${arch}`, import.meta.url);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : undefined;
}

/** sha256 (hex) of a file, read as a stream. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of await openFileChunks(path)) hash.update(chunk);
  return hash.digest("hex");
}

async function statOrUndefined(path: string): Promise<Deno.FileInfo | undefined> {
  try {
    return await Deno.stat(path);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory) return undefined;
    throw err;
  }
}

/**
 * Whether `path` is an ELF executable without a PT_INTERP program header (statically linked).
 * Anything unreadable or not ELF counts as not static.
 */
export async function isStaticElf(path: string): Promise<boolean> {
  using file = await Deno.open(path);
  const read = async (offset: number, len: number): Promise<DataView | undefined> => {
    const buf = new Uint8Array(len);
    await file.seek(offset, Deno.SeekMode.Start);
    let got = 0;
    while (got < len) {
      const n = await file.read(buf.subarray(got));
      if (n === null) return undefined;
      got += n;
    }
    return new DataView(buf.buffer);
  };
  const head = await read(0, 64);
  if (!head || head.getUint32(0) !== 0x7f454c46) return false;
  const is64 = head.getUint8(4) === 2;
  const le = head.getUint8(5) === 1;
  const phoff = is64 ? Number(head.getBigUint64(0x20, le)) : head.getUint32(0x1c, le);
  const phentsize = head.getUint16(is64 ? 0x36 : 0x2a, le);
  const phnum = head.getUint16(is64 ? 0x38 : 0x2c, le);
  if (phnum === 0 || phentsize < 4) return false;
  const table = await read(phoff, phentsize * phnum);
  if (!table) return false;
  const PT_INTERP = 3;
  for (let i = 0; i < phnum; i++) {
    if (table.getUint32(i * phentsize, le) === PT_INTERP) return false;
  }
  return true;
}

async function onPath(name: string, env: Readonly<Record<string, string>>): Promise<string[]> {
  const found: string[] = [];
  // Relative PATH entries (and the empty one, meaning cwd) would make the helper depend on where
  // stacker was started: skip them.
  for (const dir of (env.PATH ?? "").split(":")) {
    if (!dir.startsWith("/")) continue;
    const candidate = `${dir.replace(/\/$/, "")}/${name}`;
    // A PATH entry this user may not search (root's PATH kept by sudo -E: /root/…) is skipped, as a
    // shell skips it, instead of failing every unprivileged build.
    const info = await statOrUndefined(candidate).catch((err) => {
      if (err instanceof Deno.errors.PermissionDenied) return undefined;
      throw err;
    });
    if (info?.isFile && (info.mode ?? 0) & 0o111) found.push(candidate);
  }
  return found;
}

/**
 * Where `name` would come from, without writing anything: the host's PATH (a static binary only,
 * where the manifest asks for one), else the embedded copy, else missing. For `stacker check`.
 */
export async function helperStatus(name: string, opts: FindHelperOptions): Promise<HelperStatus> {
  const entry = HELPER_MANIFEST.helpers[name];
  const arch = opts.arch ?? Deno.build.arch;
  const pkg = entry?.arches[arch]?.package ?? entry?.arches["x86_64"]?.package;
  // A dist file carries the helpers it was built and tested with: they win over the host's.
  const dist = opts.embeddedDir === undefined ? distLayout() : undefined;
  if (dist && dist.arch === arch && entry) {
    return { name, origin: "dist", path: `${dist.bin}/${name}`, package: pkg };
  }
  let note: string | undefined;
  if (!opts.ignorePath) {
    for (const path of await onPath(name, opts.env)) {
      if (entry?.static && !(await isStaticElf(path))) {
        note = `host copy "${path}" is not statically linked`;
        continue;
      }
      return { name, origin: "host", path, package: pkg, note };
    }
  }
  const dir = opts.embeddedDir ?? defaultEmbeddedDir(arch);
  if (entry?.arches[arch] && dir) {
    const path = `${dir.replace(/\/$/, "")}/${name}`;
    if ((await statOrUndefined(path))?.isFile) return { name, origin: "embedded", path, package: pkg, note };
  }
  return { name, origin: "missing", package: pkg, note };
}

/**
 * The absolute path of an executable `name` (a helper from vendor/manifest.json).
 *
 * Order: the host's PATH (for a `static` helper only a statically linked binary counts); then the
 * embedded copy, copied once to `helperCacheDir(env)/<sha256>/<name>` (temp file + rename, so
 * concurrent callers are safe), mode 0755. The cached copy is hashed on every call and rewritten
 * when it does not match. Throws StackerError `helper.missing` (naming the Debian package) when
 * neither exists, `helper.bad-hash` when the embedded copy does not match the manifest.
 */
export async function findHelper(name: string, opts: FindHelperOptions): Promise<string> {
  const status = await helperStatus(name, opts);
  const log = opts.log.with({ helper: name });
  if (status.note) log.debug(`Passed over a helper candidate: ${status.note}`);
  if (status.origin === "host" || status.origin === "dist") {
    log.debug(`Using the ${status.origin}'s helper`, { path: status.path });
    return status.path!;
  }
  if (status.origin === "missing") {
    const pkg = status.package ? ` (install the Debian package "${status.package}")` : "";
    throw new StackerError(
      `Cannot find helper "${name}": it is not on PATH and this stacker-ts has no embedded copy${pkg}`,
      { code: "helper.missing", context: { helper: name, package: status.package, note: status.note } },
    );
  }
  const src = helperSource(name, opts.arch);
  const target = cachedHelperPath(name, src.sha256, opts.env);
  const cached = await statOrUndefined(target);
  if (cached?.isFile) {
    if ((await sha256File(target)) === src.sha256) {
      if (((cached.mode ?? 0) & 0o777) !== 0o755) await Deno.chmod(target, 0o755);
      log.debug("Using the cached embedded helper", { path: target });
      return target;
    }
    log.warn("Cached helper does not match its hash: writing it again", { path: target });
  }
  await installCopy(status.path!, target, src.sha256, name);
  log.debug("Wrote the embedded helper to the cache", { path: target });
  return target;
}

async function installCopy(from: string, target: string, sha256: string, name: string): Promise<void> {
  const dir = target.slice(0, target.lastIndexOf("/"));
  await Deno.mkdir(dir, { recursive: true, mode: 0o755 });
  const tmp = `${target}.tmp-${Deno.pid}-${crypto.randomUUID()}`;
  try {
    const hash = createHash("sha256");
    {
      using dst = await Deno.open(tmp, { write: true, createNew: true, mode: 0o700 });
      for await (const chunk of await openFileChunks(from)) {
        hash.update(chunk);
        for (let off = 0; off < chunk.length;) off += await dst.write(chunk.subarray(off));
      }
      await dst.sync();
    }
    const got = hash.digest("hex");
    if (got !== sha256) {
      throw new StackerError(
        `Cannot use embedded helper "${name}": its sha256 is "${got}", the manifest says "${sha256}"`,
        { code: "helper.bad-hash", context: { helper: name, path: from, expected: sha256, actual: got } },
      );
    }
    await Deno.chmod(tmp, 0o755);
    await Deno.rename(tmp, target);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    if (err instanceof StackerError) throw err;
    throw new StackerError(`Cannot write helper "${name}" to "${target}"`, {
      code: "helper.cache-write",
      cause: err,
      context: { helper: name, path: target },
    });
  }
}
