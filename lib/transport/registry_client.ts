/**
 * A distribution API v2 client for one registry: manifests (verified, platform-resolved), blobs
 * (verified while streaming, resumed with Range), uploads (HEAD skip, cross-repo mount, monolithic
 * or chunked; an interrupted chunked upload goes on where the registry says it stands) and auth
 * (anonymous, basic, bearer tokens with scopes and refresh). This class is the public face only:
 * the session and auth live in `_session.ts`, manifests in `_manifests.ts`, downloads in
 * `_blob_download.ts`, uploads in `_blob_upload.ts` and `_chunked_upload.ts`, and the network rules
 * (redirects, retries, timeouts, bounded bodies) in `_http.ts`.
 */
import type { Descriptor, Digest } from "../oci/mod.ts";
import { openBlob } from "./_blob_download.ts";
import { hasBlob, pushBlob } from "./_blob_upload.ts";
import { type FetchedManifest, getManifest, putManifest, resolveImage } from "./_manifests.ts";
import { Session, type SessionOptions } from "./_session.ts";

export type { FetchedManifest } from "./_manifests.ts";

/** Options of {@link RegistryClient.connect}; defaults in brackets. */
export interface RegistryClientOptions extends SessionOptions {
  /** Upload blobs larger than this in PATCH chunks of this size [monolithic]. */
  readonly chunkSize?: number;
}

/** A session with one registry. Holds an HTTP client: `close()` it (idempotent). */
export class RegistryClient implements Disposable {
  readonly registry: string;
  readonly #session: Session;
  readonly #chunkSize?: number;

  private constructor(session: Session, chunkSize: number | undefined) {
    this.registry = session.registry;
    this.#session = session;
    this.#chunkSize = chunkSize;
  }

  /**
   * Opens a session: https, or plain http when https cannot connect and the source is `insecure`
   * or on loopback (as Docker treats 127.0.0.0/8); a loopback registry without configured CA
   * certificates is probed over http first (see `Session.open`). Throws `registry.unreachable`.
   */
  static async connect(opts: RegistryClientOptions): Promise<RegistryClient> {
    return new RegistryClient(await Session.open(opts), opts.chunkSize);
  }

  /** Closes the HTTP client. Idempotent. */
  close(): void {
    this.#session.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Fetches the manifest or index `reference` (tag or digest) of `repo` as exact bytes (4 MiB cap).
   * A digest reference is re-hashed and must match. Throws `registry.http-404` when absent.
   */
  getManifest(repo: string, reference: string): Promise<{ descriptor: Descriptor; bytes: Uint8Array }> {
    return getManifest(this.#session, repo, reference);
  }

  /** The image manifest of `repo:reference` for `platform` (manifest lists resolved). */
  resolveImage(
    repo: string,
    reference: string,
    platform: { os: string; arch: string },
  ): Promise<FetchedManifest> {
    return resolveImage(this.#session, repo, reference, platform);
  }

  /**
   * A stream of blob `desc`, verified against its digest and size as it is read. A broken or short
   * connection is resumed with `Range` (a 206 with a matching Content-Range continues; a 200 is
   * re-read past what was already passed on), up to the retry budget; then the stream errors.
   */
  openBlob(repo: string, desc: Pick<Descriptor, "digest" | "size">): Promise<ReadableStream<Uint8Array>> {
    return openBlob(this.#session, repo, desc);
  }

  /** True when `repo` has blob `digest` (HEAD). */
  hasBlob(repo: string, digest: Digest, scopes = [`repository:${repo}:pull`]): Promise<boolean> {
    return hasBlob(this.#session, repo, digest, scopes);
  }

  /**
   * Uploads blob `desc` to `repo` unless it is there already; `open` gives a fresh stream of its
   * bytes (called again on a retry). `mountFrom` names a repository of this registry to mount from.
   * Past the `chunkSize` of {@link RegistryClientOptions} the upload goes in PATCH chunks, and an
   * interrupted one resumes where the registry says it stands, or starts over once.
   */
  pushBlob(
    repo: string,
    desc: Pick<Descriptor, "digest" | "size">,
    open: () => Promise<ReadableStream<Uint8Array>>,
    opts: { mountFrom?: string } = {},
  ): Promise<"exists" | "mounted" | "uploaded"> {
    return pushBlob(this.#session, repo, desc, open, {
      mountFrom: opts.mountFrom,
      chunkSize: this.#chunkSize,
    });
  }

  /** Puts manifest `bytes` under `reference` (a tag or its digest). Push blobs first. */
  putManifest(repo: string, reference: string, bytes: Uint8Array, mediaType: string): Promise<Digest> {
    return putManifest(this.#session, repo, reference, bytes, mediaType);
  }
}
