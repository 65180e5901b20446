/**
 * `stacker inspect`: what the output layout holds, per tag — the manifest, each layer's digest,
 * size and media type, the manifest annotations and the image config — as text in the seed's
 * shape, or as JSON for scripts.
 */
import { OciError } from "../util/errors.ts";
import type { Descriptor, ImageConfig, Manifest } from "../oci/types.ts";
import type { LayoutStore } from "../oci/mod.ts";

export interface InspectedImage {
  readonly tag: string;
  readonly manifest: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly annotations: Readonly<Record<string, string>>;
  readonly config: ImageConfig;
}

/**
 * The images tagged in `layout`, in index order; only `tag` when given. Throws OciError
 * `oci.tag-not-found` when `tag` is not in the layout.
 */
export async function inspectImages(
  layout: Pick<LayoutStore, "tags" | "readJson">,
  tag?: string,
): Promise<InspectedImage[]> {
  const tags = (await layout.tags()).filter((t) => tag === undefined || t.name === tag);
  if (tag !== undefined && tags.length === 0) {
    throw new OciError(`Cannot inspect "${tag}": no such tag in the output layout`, {
      code: "oci.tag-not-found",
      context: { tag },
    });
  }
  const out: InspectedImage[] = [];
  for (const t of tags) {
    const manifest = await layout.readJson<Manifest>(t.descriptor);
    out.push({
      tag: t.name,
      manifest: { mediaType: t.descriptor.mediaType, digest: t.descriptor.digest, size: t.descriptor.size },
      layers: manifest.layers,
      annotations: manifest.annotations ?? {},
      config: await layout.readJson<ImageConfig>(manifest.config),
    });
  }
  return out;
}

/** Sizes the way people read them: 1023 B, 1.5 KiB, 2.0 MiB. */
export function humanSize(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(1)} ${units[u]}`;
}

/** The text form: one block per image, the config as indented JSON. */
export function formatInspect(images: readonly InspectedImage[]): string {
  const lines: string[] = [];
  for (const img of images) {
    lines.push(`image: ${img.tag}`);
    lines.push(`manifest: ${img.manifest.digest} (${humanSize(img.manifest.size)})`);
    lines.push(`layers:`);
    for (const l of img.layers) {
      const hex = l.digest.slice(l.digest.indexOf(":") + 1, l.digest.indexOf(":") + 13);
      lines.push(`  ${hex} ${humanSize(l.size).padStart(10)} ${l.mediaType}`);
    }
    const ann = Object.entries(img.annotations);
    if (ann.length > 0) {
      lines.push(`annotations:`);
      for (const [k, v] of ann) {
        const oneLine = v.includes("\n") ? JSON.stringify(v) : v;
        lines.push(`  ${k}: ${oneLine}`);
      }
    }
    lines.push(`image config:`);
    lines.push(JSON.stringify(img.config, null, 2));
    lines.push("");
  }
  return lines.join("\n");
}

/** The JSON form (`inspect --json`): an array, one object per image. */
export function inspectJson(images: readonly InspectedImage[]): string {
  return JSON.stringify(images, null, 2);
}

/** `inspectImages` over the output layout at `ociDir` (the library form of `stacker inspect`). */
export async function inspect(ociDir: string, tag?: string): Promise<InspectedImage[]> {
  const { openLayout } = await import("./_wiring.ts");
  return await inspectImages(await openLayout(ociDir), tag);
}
