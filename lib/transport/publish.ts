/**
 * `stacker publish`: copies built images from the output layout to a registry
 * (`docker://host[/path]` → `<url>/<layer>:<tag>`) or a layout (`oci:<dir>` → `<dir>:<layer>_<tag>`).
 * squashfs images are published with a `-squashfs` tag suffix. Whether a layer must be rebuilt
 * first is the build's question, asked through `needsRebuild`.
 */
import { resolve } from "../util/path.ts";
import { OciLayout } from "../oci/mod.ts";
import { BuildError, OciError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import type { Progress } from "../util/progress.ts";
import type { Credentials } from "./_auth.ts";
import {
  copyImage,
  type ImageDestination,
  layoutDestination,
  layoutSource,
  registryDestination,
} from "./copy_image.ts";
import { parseImageRef, registryHost } from "./image_ref.ts";
import { RegistryClient } from "./registry_client.ts";

/** One layer the stacker files define. */
export interface PublishImage {
  readonly layer: string;
  /** The stacker file defining it (for messages). */
  readonly file?: string;
  readonly buildOnly?: boolean;
}

/** Options of {@link publish}; defaults in brackets. */
export interface PublishOptions {
  /** The output layout holding the built images. */
  readonly layout: OciLayout;
  /** `docker://host[/path]` or `oci:<dir>`. */
  readonly url: string;
  /** At least one. */
  readonly tags: readonly string[];
  readonly images: readonly PublishImage[];
  /** Only these layers (`--image`) [all]. */
  readonly only?: readonly string[];
  /** ["tar"]; "squashfs" publishes `<layer>-squashfs`. */
  readonly layerTypes?: readonly string[];
  readonly credentials?: Credentials;
  /** Plain http / no TLS verification towards the registry. */
  readonly skipTls?: boolean;
  /** Log `would publish: …` and copy nothing. */
  readonly showOnly?: boolean;
  /** Publish even when `needsRebuild` says the layer is stale. */
  readonly force?: boolean;
  readonly needsRebuild?: (layer: string) => Promise<boolean>;
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly caCerts?: readonly string[];
  readonly progress?: Progress;
  readonly log: Logger;
  readonly signal?: AbortSignal;
}

/** Where one image went. */
export interface Published {
  readonly layer: string;
  readonly dest: string;
}

function destinations(
  url: string,
  layer: string,
  tag: string,
): { repoOrDir: string; tag: string; text: string } {
  if (url.startsWith("docker://")) {
    const base = url.replace(/\/+$/, "");
    const text = `${base}/${layer}:${tag}`;
    const ref = parseImageRef(text);
    if (ref.transport !== "docker") throw new Error("unreachable");
    return { repoOrDir: ref.repository, tag, text };
  }
  if (url.startsWith("oci:")) {
    const dir = url.slice(4);
    return { repoOrDir: dir, tag: `${layer}_${tag}`, text: `oci:${dir}:${layer}_${tag}` };
  }
  throw new OciError(`Cannot publish to "${url}": expected docker://host[/path] or oci:<dir>`, {
    code: "transport.bad-ref",
  });
}

/**
 * Publishes every selected image under every tag. build_only layers are skipped with
 * `will not publish: …`. Throws BuildError `publish.needs-rebuild` (before copying anything) when
 * a layer is stale and `force` is not set, OciError `oci.no-tag` when a layer was never built.
 */
export async function publish(opts: PublishOptions): Promise<Published[]> {
  if (opts.tags.length === 0) {
    throw new OciError("Cannot publish: no --tag given", { code: "transport.no-tag" });
  }
  const types = opts.layerTypes && opts.layerTypes.length > 0 ? opts.layerTypes : ["tar"];
  const chosen = opts.images.filter((i) =>
    !opts.only || opts.only.length === 0 || opts.only.includes(i.layer)
  );
  const plan: { layer: string; source: string; file?: string; dests: ReturnType<typeof destinations>[] }[] =
    [];
  for (const img of chosen) {
    if (img.buildOnly) {
      opts.log.info(`will not publish: ${img.file ?? ""} build_only ${img.layer}`.replace("  ", " "));
      continue;
    }
    if (!opts.force && opts.needsRebuild && await opts.needsRebuild(img.layer)) {
      throw new BuildError(`layer needs to be rebuilt before publishing: ${img.layer}`, {
        code: "publish.needs-rebuild",
        context: { layer: img.layer, file: img.file },
      });
    }
    for (const t of types) {
      const suffix = t === "tar" ? "" : `-${t}`;
      plan.push({
        layer: img.layer,
        file: img.file,
        source: `${img.layer}${suffix}`,
        dests: opts.tags.map((tag) => destinations(opts.url, img.layer, `${tag}${suffix}`)),
      });
    }
  }
  const out: Published[] = [];
  if (opts.showOnly) {
    for (const p of plan) {
      for (const d of p.dests) {
        opts.log.info(`would publish: ${p.file ?? ""} ${p.layer} to ${d.text}`);
        out.push({ layer: p.layer, dest: d.text });
      }
    }
    return out;
  }
  let client: RegistryClient | undefined;
  // Held while copying: a gc of either layout (another process) waits, so nothing read or
  // stored but not tagged yet goes away under us.
  const holds = [await opts.layout.hold({ bestEffort: true })];
  try {
    let dstFor: (repoOrDir: string) => Promise<ImageDestination>;
    if (opts.url.startsWith("docker://")) {
      const ref = parseImageRef(`${opts.url.replace(/\/+$/, "")}/x`);
      if (ref.transport !== "docker") throw new Error("unreachable");
      client = await RegistryClient.connect({
        registry: registryHost(ref.registry),
        insecure: opts.skipTls,
        credentials: opts.credentials,
        env: opts.env,
        caCerts: opts.caCerts,
        log: opts.log,
        signal: opts.signal,
      });
      const c = client;
      dstFor = (repo) => Promise.resolve(registryDestination(c, repo));
    } else {
      dstFor = async (dir) => {
        const layout = await OciLayout.open(resolve(dir), { create: true });
        holds.push(await layout.hold());
        return layoutDestination(layout);
      };
    }
    for (const p of plan) {
      const src = layoutSource(opts.layout, p.source);
      // group tags per destination repository (all the same for one layer), then copy once
      const dst = await dstFor(p.dests[0].repoOrDir);
      const r = await copyImage(src, dst, {
        platform: { os: "linux", arch: "amd64" },
        tags: p.dests.map((d) => d.tag),
        progress: opts.progress,
        log: opts.log,
        signal: opts.signal,
      });
      for (const d of p.dests) {
        opts.log.info(`published ${p.layer} to ${d.text}`, { digest: r.descriptor.digest });
        out.push({ layer: p.layer, dest: d.text });
      }
    }
  } finally {
    client?.close();
    for (const h of holds) h.release();
  }
  return out;
}
