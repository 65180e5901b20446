/**
 * One generic copy between image sources and destinations (registry, OCI layout), blob by blob
 * with a bounded pool, verified end to end, manifest only after its blobs, then the tags.
 */
import {
  type Descriptor,
  type Manifest,
  MAX_JSON_BYTES,
  type OciLayout,
  parseManifestOrIndex,
  readBounded,
} from "../oci/mod.ts";
import { OciError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { silentLogger } from "../util/log.ts";
import type { Progress } from "../util/progress.ts";
import type { RegistryClient } from "./registry_client.ts";

/** A platform as the layer's `os`/`arch`. */
export interface PlatformChoice {
  readonly os: string;
  readonly arch: string;
}

/** Where images are read from. */
export interface ImageSource {
  /** For messages: `docker://…`, `oci:…`. */
  readonly name: string;
  /** Set for registries: lets a push to the same registry mount blobs instead of uploading. */
  readonly mount?: { readonly registry: string; readonly repository: string };
  /** The image manifest for `platform` (indexes resolved), as exact bytes. */
  manifest(
    platform: PlatformChoice,
  ): Promise<{ descriptor: Descriptor; bytes: Uint8Array; manifest: Manifest }>;
  /** A fresh stream of blob `desc`, verified as it is read. */
  openBlob(desc: Descriptor): Promise<ReadableStream<Uint8Array>>;
}

/** Where images are written to. */
export interface ImageDestination {
  readonly name: string;
  hasBlob(desc: Descriptor): Promise<boolean>;
  /** Stores blob `desc` from `open()` (verified); `mountFrom` is the source's registry repo. */
  putBlob(
    desc: Descriptor,
    open: () => Promise<ReadableStream<Uint8Array>>,
    mountFrom?: { registry: string; repository: string },
  ): Promise<void>;
  /** Stores the manifest (its blobs are present) and points every tag at it. */
  putManifest(desc: Descriptor, bytes: Uint8Array, tags: readonly string[]): Promise<void>;
}

/** An image tagged `tag` in `layout` (or the only image when `tag` is undefined). */
export function layoutSource(layout: OciLayout, tag: string | undefined): ImageSource {
  return {
    name: `oci:${layout.dir}:${tag ?? ""}`,
    async manifest(platform) {
      let desc: Descriptor | undefined;
      if (tag === undefined) {
        const all = await layout.tags();
        const index = await layout.readIndex();
        if (index.manifests.length !== 1) {
          throw new OciError(
            `Cannot pick an image of "${layout.dir}": no tag given and it holds ${index.manifests.length}`,
            {
              code: "oci.no-tag",
            },
          );
        }
        desc = all[0]?.descriptor ?? index.manifests[0];
      } else desc = await layout.resolve(tag);
      if (!desc) {
        throw new OciError(`Cannot find tag "${tag}" in "${layout.dir}"`, {
          code: "oci.no-tag",
          context: { tag },
        });
      }
      const { descriptor, manifest } = await layout.readManifest(desc, platform);
      const bytes = await readBounded(await layout.openBlob(descriptor), MAX_JSON_BYTES, "manifest");
      return {
        descriptor: { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size },
        bytes,
        manifest,
      };
    },
    openBlob: (desc) => layout.openBlob(desc),
  };
}

/** A layout as destination: blobs stored verified, tags replaced atomically. */
export function layoutDestination(layout: OciLayout): ImageDestination {
  return {
    name: `oci:${layout.dir}`,
    hasBlob: (desc) => layout.hasBlob(desc.digest),
    async putBlob(desc, open) {
      await layout.putBlob(await open(), { digest: desc.digest, size: desc.size });
    },
    async putManifest(desc, bytes, tags) {
      await layout.putBlob(ReadableStream.from([bytes]), { digest: desc.digest, size: desc.size });
      for (const t of tags) await layout.tag(t, desc);
    },
  };
}

/** `repository:reference` of a registry. */
export function registrySource(client: RegistryClient, repository: string, reference: string): ImageSource {
  return {
    name: `docker://${client.registry}/${repository}:${reference}`,
    mount: { registry: client.registry, repository },
    async manifest(platform) {
      const r = await client.resolveImage(repository, reference, platform);
      return r;
    },
    openBlob: (desc) => client.openBlob(repository, desc),
  };
}

/** A registry repository as destination. */
export function registryDestination(client: RegistryClient, repository: string): ImageDestination {
  return {
    name: `docker://${client.registry}/${repository}`,
    hasBlob: (desc) => client.hasBlob(repository, desc.digest, [`repository:${repository}:pull,push`]),
    async putBlob(desc, open, mountFrom) {
      const from = mountFrom?.registry === client.registry ? mountFrom.repository : undefined;
      await client.pushBlob(repository, desc, open, { mountFrom: from });
    },
    async putManifest(desc, bytes, tags) {
      for (const t of tags.length > 0 ? tags : [desc.digest]) {
        await client.putManifest(repository, t, bytes, desc.mediaType);
      }
    },
  };
}

/** Options of {@link copyImage}. */
export interface CopyImageOptions {
  readonly platform: PlatformChoice;
  /** Tags the copied manifest gets at the destination. */
  readonly tags: readonly string[];
  /** Blobs copied at once [4]. */
  readonly concurrency?: number;
  readonly progress?: Progress;
  readonly log?: Logger;
  readonly signal?: AbortSignal;
}

/** What a copy did. */
export interface CopyResult {
  readonly descriptor: Descriptor;
  readonly manifest: Manifest;
  readonly copied: number;
  readonly skipped: number;
  readonly bytes: number;
}

/**
 * Copies the image of `src` for the platform to `dst`: config and layers (skipping those present),
 * in parallel, then the manifest, then the tags. A failure leaves no tag changed.
 */
export async function copyImage(
  src: ImageSource,
  dst: ImageDestination,
  opts: CopyImageOptions,
): Promise<CopyResult> {
  const log = opts.log ?? silentLogger;
  const { descriptor, bytes, manifest } = await src.manifest(opts.platform);
  parseManifestOrIndex(bytes, descriptor.mediaType);
  const blobs = [manifest.config, ...manifest.layers].filter((d, i, all) =>
    all.findIndex((o) => o.digest === d.digest) === i
  );
  let copied = 0, skipped = 0, total = 0;
  const queue = [...blobs];
  let failed = false;
  const workers = Array.from({ length: Math.min(opts.concurrency ?? 4, queue.length) }, async () => {
    for (let d = queue.shift(); d && !failed; d = queue.shift()) {
      opts.signal?.throwIfAborted();
      if (await dst.hasBlob(d)) {
        skipped++;
        continue;
      }
      // containers/image's wording, which scripts grep for (stacker's log test does)
      const item = opts.progress?.item(`Copying blob ${d.digest.slice(7, 19)}`, d.size);
      await dst.putBlob(d, async () => {
        const s = await src.openBlob(d);
        if (!item) return s;
        return s.pipeThrough(
          new TransformStream({
            transform(c, ctl) {
              item.advance(c.byteLength);
              ctl.enqueue(c);
            },
          }),
        );
      }, src.mount);
      item?.done();
      copied++;
      total += d.size;
    }
  });
  // one failure stops the others from starting new blobs; all settle before we report it
  const settled = await Promise.allSettled(workers.map((w) =>
    w.catch((e) => {
      failed = true;
      throw e;
    })
  ));
  const firstError = settled.find((r) => r.status === "rejected");
  if (firstError) throw (firstError as PromiseRejectedResult).reason;
  await dst.putManifest(descriptor, bytes, opts.tags);
  log.debug(`copied ${src.name} to ${dst.name}`, { copied, skipped, bytes: total });
  return { descriptor, manifest, copied, skipped, bytes: total };
}
