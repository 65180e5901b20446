/**
 * The fetch stage: turns a layer's `from` into something the build can unpack. docker/oci bases are
 * copied content-addressed into the cache layout (`<stackerDir>/layer-bases/oci`) under a tag derived
 * from the full source url and platform, so two bases never collide; blobs already present are not
 * downloaded again. tar bases are cached under `<stackerDir>/layer-bases/` and revalidated.
 */
import { basename, join, resolve } from "../util/path.ts";
import {
  atomicWriteFile,
  type Descriptor,
  DigestStream,
  fileDigest,
  type ImageConfig,
  type LayoutStore,
  type Manifest,
  OciLayout,
  sha256Digest,
} from "../oci/mod.ts";
import { OciError, RegistryError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import type { BaseSpec } from "../stackerfile/mod.ts";
import type { Progress } from "../util/progress.ts";
import { type HttpSettings, send, statusError } from "./_http.ts";
import type { Credentials } from "./_auth.ts";
import {
  copyImage,
  type ImageSource,
  layoutDestination,
  layoutSource,
  registrySource,
} from "./copy_image.ts";
import { type ImageRef, parseImageRef, registryHost } from "./image_ref.ts";
import { RegistryClient } from "./registry_client.ts";
import { skopeoCopy } from "./skopeo.ts";

/** One fetch: the platform wanted and how to read `stacker://` urls; what changes from layer to layer. */
export interface FetchRequest {
  readonly os: string;
  readonly arch: string;
  readonly log: Logger;
  readonly signal?: AbortSignal;
  /** Copies `stacker://<layer>/<path>` to `dest` (the build reads its own layers). */
  readonly readStackerPath?: (layer: string, path: string, dest: string) => Promise<void>;
}

/** Options of {@link fetchBase}: the request, where bases are cached, how registries are reached. */
export interface FetchBaseOptions extends FetchRequest {
  /** The base cache layout (`<stackerDir>/layer-bases/oci`). */
  readonly cacheLayout: OciLayout;
  readonly stackerDir: string;
  /** Environment for auth files [{}]. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly credentials?: Credentials;
  readonly caCerts?: readonly string[];
  readonly progress?: Progress;
  /** Retry budget for registries and http tar downloads [4]. */
  readonly retries?: number;
}

/** The fetch stage bound to one stacker dir's base cache (see {@link baseFetcher}): what the build calls. */
export type BaseFetcher = (from: BaseSpec, request: FetchRequest) => Promise<FetchedBase>;

/** Options of {@link baseFetcher}. */
export interface BaseFetcherOptions {
  readonly stackerDir: string;
  /** For registry auth files (REGISTRY_AUTH_FILE, XDG_RUNTIME_DIR, HOME). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly progress?: Progress;
}

/** A fetched base. `tar.compression` says how to read the file. */
export type FetchedBase =
  | {
    readonly kind: "image";
    /** The base cache layout holding the image. */
    readonly layout: LayoutStore;
    readonly manifestDescriptor: Descriptor;
    readonly manifest: Manifest;
    readonly config: ImageConfig;
    /** The tag of the copy in the cache layout. */
    readonly cacheTag: string;
  }
  | {
    readonly kind: "tar";
    readonly path: string;
    readonly digest: string;
    readonly compression: "gzip" | "zstd" | "none";
  }
  | { readonly kind: "scratch" }
  | { readonly kind: "built"; readonly tag: string };

/** The cache-layout tag of a docker/oci base: a hash of the full url and the platform. */
export function baseCacheTag(url: string, os: string, arch: string): string {
  return `base-${sha256Digest(`${url}\n${os}/${arch}`).slice(7)}`;
}

/** {@link fetchBase} over the base cache `<stackerDir>/layer-bases/oci`, opened on first use. */
export function baseFetcher(opts: BaseFetcherOptions): BaseFetcher {
  let cache: Promise<OciLayout> | undefined;
  return async (from, request) => {
    cache ??= openBaseCache(opts.stackerDir);
    return await fetchBase(from, {
      ...request,
      cacheLayout: await cache,
      stackerDir: opts.stackerDir,
      env: opts.env,
      progress: opts.progress,
    });
  };
}

/** Opens (creating) the base cache layout of `stackerDir`. */
export async function openBaseCache(stackerDir: string): Promise<OciLayout> {
  return await OciLayout.open(join(stackerDir, "layer-bases", "oci"), { create: true });
}

function missing(type: string, field: string): OciError {
  return new OciError(`Cannot fetch a "${type}" base: "${field}" is missing`, {
    code: "transport.bad-source",
    context: { type },
  });
}

/**
 * Fetches `source` for the platform. docker/oci: a verified copy in the cache layout (throws
 * RegistryError/OciError on network, auth, platform or digest failures; a registry that cannot be
 * reached while a copy is cached gives a warning and the cached copy). tar: a cached local file.
 */
export async function fetchBase(source: BaseSpec, opts: FetchBaseOptions): Promise<FetchedBase> {
  switch (source.type) {
    case "scratch":
      return { kind: "scratch" };
    case "built":
      if (!source.tag) throw missing("built", "tag");
      return { kind: "built", tag: source.tag };
    case "tar":
      if (!source.url) throw missing("tar", "url");
      return await fetchTar(source.url, opts);
    case "docker":
    case "oci": {
      if (!source.url) throw missing(source.type, "url");
      const url = source.type === "oci" ? `oci:${source.url}` : source.url;
      return await fetchImage(url, source.insecure === true, opts);
    }
    default:
      throw new OciError(`Cannot fetch a base of type "${(source as BaseSpec).type}"`, {
        code: "transport.bad-source",
      });
  }
}

async function fetchImage(url: string, insecure: boolean, opts: FetchBaseOptions): Promise<FetchedBase> {
  const ref = parseImageRef(url);
  const platform = { os: opts.os, arch: opts.arch };
  const cacheTag = baseCacheTag(url, opts.os, opts.arch);
  const layout = opts.cacheLayout;
  const cached = await layout.resolve(cacheTag);
  const done = async () => {
    const img = await layout.imageOf(cacheTag, platform);
    return { kind: "image" as const, layout, cacheTag, ...img };
  };
  // a digest reference is immutable: a cached copy is the image
  if (cached && ref.transport === "docker" && ref.digest) return await done();
  try {
    await withSource(ref, insecure, opts, async (src) => {
      const r = await copyImage(src, layoutDestination(layout), {
        platform,
        tags: [cacheTag],
        progress: opts.progress,
        log: opts.log,
        signal: opts.signal,
      });
      opts.log.info(`fetched ${url}`, { copied: r.copied, skipped: r.skipped });
    });
  } catch (err) {
    if (cached && err instanceof RegistryError && err.code === "registry.unreachable") {
      opts.log.warn(`cannot reach the registry of ${url}, using the cached copy`, { error: err.message });
      return await done();
    }
    throw err;
  }
  return await done();
}

/** Runs `fn` with an image source for `ref` (one factory; nothing after it branches on the scheme). */
export async function withSource<T>(
  ref: ImageRef,
  insecure: boolean,
  opts:
    & Pick<FetchBaseOptions, "env" | "credentials" | "caCerts" | "log" | "signal" | "retries" | "stackerDir">
    & {
      os: string;
      arch: string;
    },
  fn: (src: ImageSource) => Promise<T>,
): Promise<T> {
  switch (ref.transport) {
    case "docker": {
      using client = await RegistryClient.connect({
        registry: registryHost(ref.registry),
        insecure,
        env: opts.env,
        credentials: opts.credentials,
        caCerts: opts.caCerts,
        log: opts.log,
        signal: opts.signal,
        retries: opts.retries,
      });
      return await fn(registrySource(client, ref.repository, ref.digest ?? ref.tag ?? "latest"));
    }
    case "oci": {
      const layout = await OciLayout.open(resolve(ref.dir));
      // a gc of that layout (another stacker writing into it) waits until the copy is done
      await using _held = await layout.hold({ bestEffort: true });
      return await fn(layoutSource(layout, ref.tag));
    }
    case "skopeo": {
      await Deno.mkdir(join(opts.stackerDir, "layer-bases"), { recursive: true });
      const tmp = await Deno.makeTempDir({ dir: join(opts.stackerDir, "layer-bases"), prefix: "skopeo-" });
      try {
        await skopeoCopy(ref.spec, `oci:${tmp}:image`, {
          os: opts.os,
          arch: opts.arch,
          insecure,
          log: opts.log,
          signal: opts.signal,
        });
        return await fn(layoutSource(await OciLayout.open(tmp), "image"));
      } finally {
        await Deno.remove(tmp, { recursive: true }).catch(() => {});
      }
    }
  }
}

/** gzip, zstd or plain, from the first bytes of `path`. */
export async function detectCompression(path: string): Promise<"gzip" | "zstd" | "none"> {
  const f = await Deno.open(path, { read: true });
  try {
    const head = new Uint8Array(4);
    const n = (await f.read(head)) ?? 0;
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return "gzip";
    if (n >= 4 && head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return "zstd";
    return "none";
  } finally {
    f.close();
  }
}

interface TarMeta {
  readonly url: string;
  readonly etag?: string;
  readonly lastModified?: string;
  readonly contentLength?: string;
  readonly digest: string;
}

/** A tar base as fetched: its compression sniffed, its digest computed unless known. */
async function tarBase(path: string, digest?: string): Promise<FetchedBase> {
  return {
    kind: "tar",
    path,
    digest: digest ?? await fileDigest(path),
    compression: await detectCompression(path),
  };
}

/** A tar base from a local path, from `stacker://<layer>/<path>`, or from http(s) (cached). */
async function fetchTar(url: string, opts: FetchBaseOptions): Promise<FetchedBase> {
  const bases = join(opts.stackerDir, "layer-bases");
  await Deno.mkdir(bases, { recursive: true });
  const key = sha256Digest(url).slice(7, 23);
  if (url.startsWith("stacker://")) return await tarBase(await readStackerTar(url, join(bases, key), opts));
  if (!/^https?:\/\//.test(url)) return await tarBase(resolve(url.replace(/^file:\/\//, "")));
  return await downloadTar(url, join(bases, `${key}-${basename(new URL(url).pathname) || "base.tar"}`), opts);
}

/** Copies `stacker://<layer>/<path>` out of a built layer to `<prefix>-<basename>`; that path. */
async function readStackerTar(url: string, prefix: string, opts: FetchBaseOptions): Promise<string> {
  const m = /^stacker:\/\/([^/]+)\/(.+)$/.exec(url);
  if (!m) {
    throw new OciError(`Cannot parse tar url "${url}": expected stacker://<layer>/<path>`, {
      code: "transport.bad-ref",
    });
  }
  if (!opts.readStackerPath) {
    throw new OciError(`Cannot fetch "${url}": no reader for stacker:// urls was given`, {
      code: "transport.bad-source",
    });
  }
  const dest = `${prefix}-${basename(m[2])}`;
  const tmp = `${dest}.tmp-${Deno.pid}`;
  try {
    await opts.readStackerPath(m[1], m[2], tmp);
    await Deno.rename(tmp, dest);
  } finally {
    await Deno.remove(tmp).catch(() => {});
  }
  return dest;
}

/**
 * An http(s) tar base, cached at `dest` with what the server said about it (`<dest>.meta.json`):
 * revalidated with ETag / Last-Modified (or, with no validators anywhere, an unchanged length);
 * an unreachable server with a cached copy gives a warning and the copy.
 */
async function downloadTar(url: string, dest: string, opts: FetchBaseOptions): Promise<FetchedBase> {
  const metaPath = `${dest}.meta.json`;
  let meta: TarMeta | undefined;
  try {
    meta = JSON.parse(await Deno.readTextFile(metaPath));
    await Deno.stat(dest);
  } catch {
    meta = undefined;
  }
  const headers: Record<string, string> = {};
  if (meta?.etag) headers["if-none-match"] = meta.etag;
  if (meta?.lastModified) headers["if-modified-since"] = meta.lastModified;
  const settings: HttpSettings = {
    signal: opts.signal,
    retries: opts.retries ?? 4,
    baseDelayMs: 200,
    maxDelayMs: 10_000,
    headerTimeoutMs: 60_000,
    idleTimeoutMs: 60_000,
    allowHttp: url.startsWith("http:"),
    log: opts.log,
  };
  let res: Response;
  try {
    res = await send({ method: "GET", url, headers }, settings);
  } catch (err) {
    if (meta) {
      opts.log.warn(`cannot reach ${url}, using the cached copy`, { error: (err as Error).message });
      return await tarBase(dest, meta.digest);
    }
    throw err;
  }
  if (res.status === 304 && meta) {
    await res.body?.cancel();
    return await tarBase(dest, meta.digest);
  }
  if (res.status !== 200) throw await statusError(res, `download "${url}"`, { url });
  const etag = res.headers.get("etag") ?? undefined;
  const lastModified = res.headers.get("last-modified") ?? undefined;
  const contentLength = res.headers.get("content-length") ?? undefined;
  if (
    meta && !meta.etag && !meta.lastModified && !etag && !lastModified && contentLength &&
    contentLength === meta.contentLength
  ) {
    // no validators anywhere: an unchanged length is the best evidence we have
    await res.body?.cancel();
    return await tarBase(dest, meta.digest);
  }
  const v = new DigestStream({ size: contentLength ? Number(contentLength) : undefined, what: url });
  await atomicWriteFile(dest, res.body!.pipeThrough(v));
  const digest = (await v.result).digest;
  await atomicWriteFile(
    metaPath,
    JSON.stringify({ url, etag, lastModified, contentLength, digest } satisfies TarMeta),
  );
  opts.log.info(`downloaded ${url}`, { digest });
  return await tarBase(dest, digest);
}
