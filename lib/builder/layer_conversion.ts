/**
 * One layer in another layer type: a tar layer as squashfs (base layers of docker/oci images, and
 * every layer a build generates), or a squashfs layer of a base as tar. The blob is unpacked with
 * overlay-style whiteouts into a scratch tree and packed again as the target type, so both images of
 * a layer hold the same files, and whiteouts stay whiteouts.
 *
 * Conversions are content-addressed: `<stacker-dir>/layer-conversions.json` maps (source digest,
 * target type, verity, SOURCE_DATE_EPOCH) to the converted descriptor, whose blob lives in the
 * output layout. A mapping is trusted only while that blob is still there, so a second build (or a
 * `--no-cache` one, or another layer on the same base) does not convert the same layer again.
 */
import { createHash } from "node:crypto";
import { BuildError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { atomicWriteFile, type LayoutStore } from "../oci/mod.ts";
import { type Descriptor, type Digest, MediaType } from "../oci/types.ts";
import { isFsLayerType, type LayerType, layerTypeOf } from "./layer_types.ts";
import type { GeneratedLayer } from "../layer/mod.ts";
import type { BuildServices } from "./services.ts";

/** A layer of an image: its blob, its diff_id and where the blob is stored. */
export interface SourceLayer {
  readonly desc: Descriptor;
  readonly diffId: Digest;
  readonly source: LayoutStore;
}

/** A layer as stored in the output layout. */
export interface StoredLayer {
  readonly desc: Descriptor;
  readonly diffId: Digest;
}

export interface ConvertOptions {
  readonly target: LayerType;
  readonly sourceDateEpoch?: number;
  /** dm-verity data on filesystem-image targets. */
  readonly verity: boolean;
  readonly signal?: AbortSignal;
}

interface ConversionFile {
  version: number;
  conversions: Record<string, StoredLayer>;
}

const VERSION = 1;

/** Stores a generated layer in `output`, checking the store saw the bytes the generator hashed. */
export async function storeGenerated(output: LayoutStore, gen: GeneratedLayer): Promise<StoredLayer> {
  const [stored, done] = await Promise.all([output.putBlob(gen.stream), gen.done]);
  if (stored.digest !== done.digest || stored.size !== done.size) {
    throw new BuildError(
      `Cannot store generated layer: stored ${stored.digest} (${stored.size} bytes), generated ${done.digest} (${done.size} bytes)`,
      { code: "build.layer-mismatch", context: { digest: done.digest } },
    );
  }
  const desc: Descriptor = {
    mediaType: done.mediaType,
    digest: done.digest,
    size: done.size,
    ...(done.annotations && Object.keys(done.annotations).length > 0
      ? { annotations: done.annotations }
      : {}),
  };
  return { desc, diffId: done.diffId };
}

/** An empty tar layer (two zero blocks, gzip): the tar form of an empty filesystem-image layer. */
async function emptyTarLayer(): Promise<GeneratedLayer> {
  const tar = new Uint8Array(1024);
  const gz = new Uint8Array(
    await new Response(new Blob([tar]).stream().pipeThrough(new CompressionStream("gzip"))).arrayBuffer(),
  );
  const hex = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}` as Digest;
  const done = { diffId: hex(tar), digest: hex(gz), size: gz.length, mediaType: MediaType.ociLayerGzip };
  return { stream: ReadableStream.from([gz]), done: Promise.resolve(done) };
}

/**
 * Converts layers for one build (the caller holds the stacker-dir lock, so the map file has one
 * writer). Not for concurrent use within a process either: conversions run one after the other.
 */
export class LayerConverter {
  readonly #path: string;
  readonly #scratch: string;
  readonly #svc: BuildServices;
  readonly #log: Logger;
  #map: Record<string, StoredLayer> | undefined;

  /** `stackerDir` holds the map file and the scratch trees (`.convert-*`, removed after use). */
  constructor(stackerDir: string, svc: BuildServices, log: Logger) {
    this.#path = `${stackerDir}/layer-conversions.json`;
    this.#scratch = stackerDir;
    this.#svc = svc;
    this.#log = log;
  }

  async #load(): Promise<Record<string, StoredLayer>> {
    if (this.#map) return this.#map;
    try {
      const f = JSON.parse(await Deno.readTextFile(this.#path)) as ConversionFile;
      this.#map = f.version === VERSION && f.conversions && typeof f.conversions === "object"
        ? f.conversions
        : {};
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) this.#log.warn(`discarding unreadable ${this.#path}`);
      this.#map = {};
    }
    return this.#map;
  }

  /**
   * `layer` as `opts.target`, stored in the output layout. A layer already of that type is copied
   * as it is. Throws what the unpack or the packer throws (LayerError, BuildError).
   */
  async convert(layer: SourceLayer, opts: ConvertOptions): Promise<StoredLayer> {
    const output = this.#svc.output;
    if (layerTypeOf(layer.desc.mediaType) === opts.target) {
      if (!(await output.hasBlob(layer.desc.digest))) {
        await output.putBlob(await layer.source.openBlob(layer.desc), {
          digest: layer.desc.digest,
          size: layer.desc.size,
        });
      }
      return { desc: layer.desc, diffId: layer.diffId };
    }
    const verity = isFsLayerType(opts.target) && opts.verity;
    const key = `${layer.desc.digest} ${opts.target}${verity ? "+verity" : ""} ${
      opts.sourceDateEpoch ?? "-"
    }`;
    const map = await this.#load();
    const known = map[key];
    if (known && (await output.hasBlob(known.desc.digest))) {
      this.#log.debug(`reusing ${opts.target} conversion of layer ${layer.desc.digest}`);
      return known;
    }
    this.#log.debug(`converting layer ${layer.desc.digest} to ${opts.target}`);
    const stored = await this.#convertNow(layer, opts.target, verity, opts);
    map[key] = stored;
    await atomicWriteFile(this.#path, JSON.stringify({ version: VERSION, conversions: map }, null, 1));
    return stored;
  }

  async #convertNow(
    layer: SourceLayer,
    target: LayerType,
    verity: boolean,
    opts: ConvertOptions,
  ): Promise<StoredLayer> {
    const svc = this.#svc;
    await Deno.mkdir(this.#scratch, { recursive: true });
    const tmp = await Deno.makeTempDir({ dir: this.#scratch, prefix: ".convert-" });
    try {
      // The tree's root becomes the image's root when the layer has no "./" entry of its own.
      const tree = `${tmp}/tree`;
      await Deno.mkdir(tree, { mode: 0o755 });
      await Deno.chmod(tree, 0o755);
      await svc.unpackLayer(() => layer.source.openBlob(layer.desc), tree, {
        mediaType: layer.desc.mediaType,
        digest: layer.desc.digest,
        diffId: layer.diffId,
        whiteouts: "overlay",
      });
      opts.signal?.throwIfAborted();
      let gen: GeneratedLayer | undefined;
      if (isFsLayerType(target)) {
        gen = await svc.packFsLayer(tree, { type: target, sourceDateEpoch: opts.sourceDateEpoch, verity });
      } else {
        gen = await svc.generateLayer({ kind: "overlay-upper", upper: tree }, {
          sourceDateEpoch: opts.sourceDateEpoch,
        }) ?? await emptyTarLayer();
      }
      return await storeGenerated(svc.output, gen);
    } finally {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
    }
  }
}
