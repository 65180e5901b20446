/** Test helper: the layers of an image in an OCI layout, as `unpackImage` wants them. */
export interface LayoutLayer {
  open: () => Promise<ReadableStream<Uint8Array>>;
  mediaType: string;
  digest: string;
  diffId: string;
  path: string;
}

/** Reads index.json → manifest → config of the image tagged `tag` in `dir`. */
export async function layoutLayers(dir: string, tag: string): Promise<LayoutLayer[]> {
  const blob = (d: string) => `${dir}/blobs/sha256/${d.slice(7)}`;
  const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`));
  const desc = index.manifests.find((m: { annotations?: Record<string, string> }) =>
    m.annotations?.["org.opencontainers.image.ref.name"] === tag
  );
  if (!desc) throw new Error(`Cannot find tag "${tag}" in "${dir}"`);
  const manifest = JSON.parse(await Deno.readTextFile(blob(desc.digest)));
  const config = JSON.parse(await Deno.readTextFile(blob(manifest.config.digest)));
  return manifest.layers.map((l: { mediaType: string; digest: string }, i: number) => ({
    open: async () => (await Deno.open(blob(l.digest))).readable,
    mediaType: l.mediaType,
    digest: l.digest,
    diffId: config.rootfs.diff_ids[i],
    path: blob(l.digest),
  }));
}
