/**
 * Manifests over a registry session: fetched as exact bytes and verified, manifest lists resolved
 * to one platform, and put under a tag or digest.
 */
import {
  type Descriptor,
  type Digest,
  isIndexMediaType,
  type Manifest,
  MAX_JSON_BYTES,
  MediaType,
  parseManifestOrIndex,
  readBounded,
  selectPlatform,
  sha256Digest,
} from "../oci/mod.ts";
import { RegistryError } from "../util/errors.ts";
import { statusError } from "./_http.ts";
import type { RegistrySession } from "./_session.ts";

/** A manifest as fetched: its exact bytes, the descriptor naming them and the parsed value. */
export interface FetchedManifest {
  readonly descriptor: Descriptor;
  readonly bytes: Uint8Array;
  readonly manifest: Manifest;
}

const ACCEPT = [
  MediaType.ociManifest,
  MediaType.ociIndex,
  MediaType.dockerManifest,
  MediaType.dockerManifestList,
]
  .join(", ");

/**
 * The media type of manifest `bytes`: its own `mediaType` field when it has a string one (a
 * registry may label the response loosely), else the Content-Type `header` without parameters.
 */
export function manifestMediaType(bytes: Uint8Array, header: string | null): string {
  let mediaType = (header ?? "").split(";")[0].trim();
  try {
    const mt = JSON.parse(new TextDecoder().decode(bytes)).mediaType;
    if (typeof mt === "string") mediaType = mt;
  } catch { /* parse errors surface in parseManifestOrIndex */ }
  return mediaType;
}

/**
 * Fetches the manifest or index `reference` (tag or digest) of `repo` as exact bytes (4 MiB cap).
 * A digest reference is re-hashed and must match. Throws `registry.http-404` when absent.
 */
export async function getManifest(
  session: RegistrySession,
  repo: string,
  reference: string,
): Promise<{ descriptor: Descriptor; bytes: Uint8Array }> {
  const res = await session.request(
    {
      method: "GET",
      url: session.url(`${repo}/manifests/${reference}`),
      headers: { accept: ACCEPT },
    },
    repo,
    [`repository:${repo}:pull`],
  );
  if (res.status !== 200) {
    throw await statusError(res, `get manifest "${repo}:${reference}"`, { repository: repo });
  }
  const bytes = await readBounded(res.body!, MAX_JSON_BYTES, `manifest "${repo}:${reference}"`);
  const digest = sha256Digest(bytes);
  if (reference.includes(":") && reference !== digest) {
    throw new RegistryError(`Cannot verify manifest "${repo}@${reference}": its digest is "${digest}"`, {
      code: "registry.digest-mismatch",
      context: { expected: reference, actual: digest },
    });
  }
  const mediaType = manifestMediaType(bytes, res.headers.get("content-type"));
  return { descriptor: { mediaType, digest, size: bytes.byteLength }, bytes };
}

/** The image manifest of `repo:reference` for `platform` (manifest lists resolved, ≤3 levels). */
export async function resolveImage(
  session: RegistrySession,
  repo: string,
  reference: string,
  platform: { os: string; arch: string },
): Promise<FetchedManifest> {
  let cur = await getManifest(session, repo, reference);
  for (let depth = 0; depth < 3; depth++) {
    const parsed = parseManifestOrIndex(cur.bytes, cur.descriptor.mediaType);
    if (parsed.kind === "manifest") return { ...cur, manifest: parsed.manifest };
    const child = selectPlatform(parsed.index, platform.os, platform.arch, `"${repo}:${reference}"`);
    const next = await getManifest(session, repo, child.digest);
    if (next.descriptor.size !== child.size) {
      throw new RegistryError(`Cannot verify manifest "${child.digest}": size differs from the index`, {
        code: "registry.digest-mismatch",
      });
    }
    cur = {
      descriptor: {
        ...next.descriptor,
        mediaType: isIndexMediaType(child.mediaType) ? child.mediaType : next.descriptor.mediaType,
      },
      bytes: next.bytes,
    };
  }
  throw new RegistryError(`Cannot resolve "${repo}:${reference}": indexes nested too deep`, {
    code: "registry.bad-manifest",
  });
}

/** Puts manifest `bytes` under `reference` (a tag or its digest); resolves with their digest. */
export async function putManifest(
  session: RegistrySession,
  repo: string,
  reference: string,
  bytes: Uint8Array,
  mediaType: string,
): Promise<Digest> {
  const res = await session.request(
    {
      method: "PUT",
      url: session.url(`${repo}/manifests/${reference}`),
      headers: { "content-type": mediaType },
      body: () => bytes,
    },
    repo,
    [`repository:${repo}:pull,push`],
  );
  if (res.status !== 201) {
    throw await statusError(res, `put manifest "${repo}:${reference}"`, { repository: repo });
  }
  await res.body?.cancel();
  return sha256Digest(bytes);
}
