/**
 * Unpack of the Debian minbase image (one ~80 MB gzip layer, ~6,800 entries):
 *   unpack      — ours (unpackImage) beside `umoci unpack`;
 *   vs tar -x   — ours beside GNU `tar -xzpf` of the same blob (the machine's bound for the bytes);
 *   gunzip+hash — our decompress + diff_id pass alone beside `gzip -dc | sha256sum`.
 * Run directly (`deno run -A scripts/bench/unpack.ts unpack|hash LAYOUT TAG DEST`), it is the
 * "ours" side of each case.
 */
import type { Benchmark } from "./_types.ts";

const self = new URL(import.meta.url).pathname;

async function layers(layout: string, tag: string) {
  const blob = (d: string) => `${layout}/blobs/sha256/${d.slice(7)}`;
  const index = JSON.parse(await Deno.readTextFile(`${layout}/index.json`));
  const desc = index.manifests.find((m: { annotations?: Record<string, string> }) =>
    m.annotations?.["org.opencontainers.image.ref.name"] === tag
  );
  const manifest = JSON.parse(await Deno.readTextFile(blob(desc.digest)));
  const config = JSON.parse(await Deno.readTextFile(blob(manifest.config.digest)));
  return manifest.layers.map((l: { mediaType: string; digest: string }, i: number) => ({
    open: async () => (await Deno.open(blob(l.digest))).readable,
    mediaType: l.mediaType,
    digest: l.digest,
    diffId: config.rootfs.diff_ids[i] as string,
    path: blob(l.digest),
  }));
}

if (import.meta.main) {
  const [mode, layout, tag, dest] = Deno.args;
  const ls = await layers(layout, tag);
  if (mode === "hash") {
    const { decompress, digester } = await import("../../lib/layer/_compression.ts");
    for (const l of ls) {
      const d = digester();
      for await (const _ of decompress(await l.open(), "gzip", {}).pipeThrough(d.stream)) { /* drain */ }
      if ((await d.result).digest !== l.diffId) throw new Error("diff_id mismatch");
    }
  } else {
    const { unpackImage } = await import("../../lib/layer/mod.ts");
    await unpackImage(ls, dest, { whiteouts: "apply" });
  }
}

const rm = (p: string) => () => Deno.remove(p, { recursive: true }).catch(() => {});

const bench: Benchmark = {
  name: "unpack",
  describe: "unpack of the Debian minbase image beside umoci unpack, tar -xzpf and gzip -dc | sha256sum",
  async setup() {
    // the fixtures are loaded here, not at the top: this file is also the timed "ours" command
    const { debianLayout } = await import("../fixtures/mod.ts");
    const { dir, tag } = await debianLayout();
    const work = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "bench-unpack-" });
    const blob = (await layers(dir, tag))[0].path;
    const deno = [Deno.execPath(), "run", "-A", "--cached-only", self];
    const ours = { argv: [...deno, "unpack", dir, tag, `${work}/ours`], before: rm(`${work}/ours`) };
    return {
      cases: [
        {
          label: "unpack",
          ours,
          reference: {
            argv: ["umoci", "unpack", "--image", `${dir}:${tag}`, `${work}/umoci`],
            before: rm(`${work}/umoci`),
          },
          referenceName: "umoci unpack",
        },
        {
          label: "vs tar -x",
          ours,
          reference: {
            argv: [
              "sh",
              "-c",
              `mkdir -p "$1" && tar --numeric-owner -xzpf "$2" -C "$1"`,
              "sh",
              `${work}/tar`,
              blob,
            ],
            before: rm(`${work}/tar`),
          },
          referenceName: "tar -xzpf",
        },
        {
          label: "gunzip+hash",
          ours: { argv: [...deno, "hash", dir, tag, ""] },
          reference: { argv: ["sh", "-c", `gzip -dc "$1" | sha256sum`, "sh", blob] },
          referenceName: "gzip -dc | sha256sum",
        },
      ],
      cleanup: rm(work),
    };
  },
};
export default bench;
