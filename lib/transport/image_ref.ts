/**
 * Image references, one shape per transport scheme: `docker://[registry/]repo[:tag][@digest]`,
 * `oci:<dir>[:<tag>]` (the tag may hold colons: the directory ends at the first colon), and the
 * schemes handed to skopeo unchanged.
 */
import { type Digest, parseDigest } from "../oci/mod.ts";
import { OciError } from "../util/errors.ts";

/** Schemes we do not implement natively; skopeo copies them into a temporary layout. */
export const SKOPEO_SCHEMES = [
  "containers-storage",
  "docker-archive",
  "oci-archive",
  "dir",
  "docker-daemon",
] as const;
export type SkopeoScheme = typeof SKOPEO_SCHEMES[number];

export type ImageRef =
  | {
    readonly transport: "docker";
    /** As written (`docker.io` for Docker Hub); see {@link registryHost}. */
    readonly registry: string;
    readonly repository: string;
    readonly tag?: string;
    readonly digest?: Digest;
  }
  | { readonly transport: "oci"; readonly dir: string; readonly tag?: string }
  | { readonly transport: "skopeo"; readonly scheme: SkopeoScheme; readonly spec: string };

const REPO_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

function bad(url: string, why: string): OciError {
  return new OciError(`Cannot parse image reference "${url}": ${why}`, {
    code: "transport.bad-ref",
    context: { url },
  });
}

/** Parses `url` by its scheme. Throws OciError `transport.bad-ref` naming what is wrong. */
export function parseImageRef(url: string): ImageRef {
  if (url.startsWith("docker://")) return parseDockerRef(url.slice("docker://".length), url);
  if (url.startsWith("oci:")) {
    const rest = url.slice(4);
    const i = rest.indexOf(":");
    const dir = i < 0 ? rest : rest.slice(0, i);
    const tag = i < 0 ? undefined : rest.slice(i + 1);
    if (dir === "") throw bad(url, "no layout directory");
    if (tag === "") throw bad(url, "empty tag");
    return { transport: "oci", dir, tag };
  }
  const scheme = SKOPEO_SCHEMES.find((s) => url.startsWith(`${s}:`));
  if (scheme) return { transport: "skopeo", scheme, spec: url };
  throw bad(url, `unknown scheme (expected docker://, oci: or one of ${SKOPEO_SCHEMES.join(", ")})`);
}

function parseDockerRef(rest: string, url: string): ImageRef {
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    try {
      digest = parseDigest(rest.slice(at + 1));
    } catch {
      throw bad(url, "malformed digest");
    }
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG_RE.test(tag)) throw bad(url, `invalid tag "${tag}"`);
  }
  const parts = rest.split("/");
  let registry = "docker.io";
  if (parts.length > 1 && (parts[0].includes(".") || parts[0].includes(":") || parts[0] === "localhost")) {
    registry = parts.shift()!;
  }
  let repository = parts.join("/");
  if (registry === "docker.io" && parts.length === 1) repository = `library/${repository}`;
  if (!REPO_RE.test(repository)) throw bad(url, `invalid repository "${repository}"`);
  if (!tag && !digest) tag = "latest";
  return { transport: "docker", registry, repository, tag, digest };
}

/** The host the API is served from (`registry-1.docker.io` for `docker.io`). */
export function registryHost(registry: string): string {
  return registry === "docker.io" || registry === "index.docker.io" ? "registry-1.docker.io" : registry;
}

/** The canonical text of `ref` (inverse of {@link parseImageRef} up to defaults). */
export function formatImageRef(ref: ImageRef): string {
  switch (ref.transport) {
    case "docker":
      return `docker://${ref.registry}/${ref.repository}${ref.tag ? `:${ref.tag}` : ""}${
        ref.digest ? `@${ref.digest}` : ""
      }`;
    case "oci":
      return `oci:${ref.dir}${ref.tag !== undefined ? `:${ref.tag}` : ""}`;
    case "skopeo":
      return ref.spec;
  }
}
