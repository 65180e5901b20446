/**
 * Validation of untrusted OCI / Docker schema-2 JSON: descriptors, manifests, indexes (manifest
 * lists) and image configs, plus platform selection. Every digest is checked by `parseDigest`
 * before anyone builds a path from it.
 */
import { OciError } from "../util/errors.ts";
import { parseDigest } from "./digest.ts";
import type { Descriptor, ImageConfig, Index, Manifest, Platform } from "./types.ts";
import { MediaType } from "./types.ts";

/** Largest manifest, index, config or index.json we read (c/image iolimits). */
export const MAX_JSON_BYTES = 4 * 1024 * 1024;

const INDEX_TYPES: ReadonlySet<string> = new Set([MediaType.ociIndex, MediaType.dockerManifestList]);
const MANIFEST_TYPES: ReadonlySet<string> = new Set([MediaType.ociManifest, MediaType.dockerManifest]);

/** True when `mediaType` names an OCI index or a Docker manifest list. */
export function isIndexMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && INDEX_TYPES.has(mediaType);
}
/** True when `mediaType` names an OCI or Docker schema-2 image manifest. */
export function isManifestMediaType(mediaType: string | undefined): boolean {
  return mediaType !== undefined && MANIFEST_TYPES.has(mediaType);
}

function bad(what: string, why: string, context: Record<string, string | number | undefined> = {}): OciError {
  return new OciError(`Cannot parse ${what}: ${why}`, { code: "oci.bad-json", context });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Checks a descriptor's digest, size and media type; returns it typed (extra fields kept). */
export function parseDescriptor(v: unknown, what = "descriptor"): Descriptor {
  if (!isObject(v)) throw bad(what, "not an object");
  parseDigest(v.digest, `${what} digest`);
  if (typeof v.size !== "number" || !Number.isSafeInteger(v.size) || v.size < 0) {
    throw bad(what, `size "${String(v.size)}" is not a non-negative integer`);
  }
  if (typeof v.mediaType !== "string" || v.mediaType === "") throw bad(what, "mediaType is missing");
  return v as unknown as Descriptor;
}

/** Parses manifest or index JSON by its `mediaType` (or its shape when the field is absent). */
export function parseManifestOrIndex(
  bytes: Uint8Array,
  hint?: string,
): { kind: "manifest"; manifest: Manifest } | { kind: "index"; index: Index } {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new OciError(`Cannot parse manifest: not JSON`, { code: "oci.bad-json", cause: err });
  }
  if (!isObject(v)) throw bad("manifest", "not an object");
  if (v.schemaVersion !== 2) throw bad("manifest", `schemaVersion "${String(v.schemaVersion)}" is not 2`);
  const mt = typeof v.mediaType === "string" ? v.mediaType : hint;
  if (
    typeof v.mediaType === "string" && hint !== undefined && v.mediaType !== hint &&
    isIndexMediaType(v.mediaType) !== isIndexMediaType(hint)
  ) {
    throw bad("manifest", `mediaType "${v.mediaType}" contradicts the descriptor's "${hint}"`);
  }
  const looksIndex = Array.isArray(v.manifests);
  const looksManifest = isObject(v.config) && Array.isArray(v.layers);
  if (looksIndex === looksManifest) throw bad("manifest", "ambiguous: neither a manifest nor an index");
  if (looksIndex) {
    if (mt !== undefined && isManifestMediaType(mt)) throw bad("index", `mislabelled as "${mt}"`);
    (v.manifests as unknown[]).forEach((d, i) => parseDescriptor(d, `index entry ${i}`));
    return { kind: "index", index: v as unknown as Index };
  }
  if (mt !== undefined && isIndexMediaType(mt)) throw bad("manifest", `mislabelled as "${mt}"`);
  parseDescriptor(v.config, "manifest config");
  (v.layers as unknown[]).forEach((d, i) => parseDescriptor(d, `manifest layer ${i}`));
  return { kind: "manifest", manifest: v as unknown as Manifest };
}

/** Parses and checks an image config (os, architecture, rootfs.diff_ids). */
export function parseImageConfig(bytes: Uint8Array): ImageConfig {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch (err) {
    throw new OciError(`Cannot parse image config: not JSON`, { code: "oci.bad-json", cause: err });
  }
  if (!isObject(v)) throw bad("image config", "not an object");
  if (!isObject(v.rootfs) || !Array.isArray(v.rootfs.diff_ids)) {
    throw bad("image config", "rootfs.diff_ids is missing");
  }
  (v.rootfs.diff_ids as unknown[]).forEach((d) => parseDigest(d, "diff_id"));
  return v as unknown as ImageConfig;
}

/** Normalises an architecture name the way Go does (x86_64 → amd64, aarch64 → arm64). */
export function normalizeArch(arch: string): string {
  const map: Record<string, string> = { x86_64: "amd64", aarch64: "arm64", armhf: "arm", i386: "386" };
  return map[arch] ?? arch;
}

/**
 * The entry of `index` for `os`/`arch` (`arch` may carry a variant: "arm64/v8"). Throws OciError
 * `oci.no-platform` listing the platforms offered when none matches.
 */
export function selectPlatform(index: Index, os: string, arch: string, what = "image"): Descriptor {
  const [a, variant] = normalizeArch(arch).split("/");
  const candidates = index.manifests.filter((d) =>
    d.platform && d.platform.os === os && normalizeArch(d.platform.architecture) === a &&
    (variant === undefined || d.platform.variant === undefined || d.platform.variant === variant)
  );
  if (candidates.length > 0) return candidates[0];
  // An index without platforms (a plain OCI layout index) with one manifest is that manifest.
  if (index.manifests.length === 1 && !index.manifests[0].platform) return index.manifests[0];
  const offered = index.manifests.map((d) => platformName(d.platform)).join(", ");
  throw new OciError(`Cannot select platform "${os}/${arch}" of ${what}: it offers ${offered || "nothing"}`, {
    code: "oci.no-platform",
    context: { os, arch, offered },
  });
}

function platformName(p: Platform | undefined): string {
  if (!p) return "(unknown)";
  return `${p.os}/${p.architecture}${p.variant ? "/" + p.variant : ""}`;
}
