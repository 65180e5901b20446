/**
 * Pull from the local registry into an OCI layout: the multi-layer fixture and the Debian minbase
 * image, ours (RegistryClient + copyImage) beside `skopeo copy docker://… oci:…`. Run directly
 * (`deno run -A scripts/bench/pull.ts HOST REPO:TAG DEST`), it is the "ours" side.
 */
import type { Benchmark } from "./_types.ts";

const self = new URL(import.meta.url).pathname;

if (import.meta.main) {
  const [host, repoTag, dest] = Deno.args;
  const { OciLayout } = await import("../../lib/oci/mod.ts");
  const { copyImage, layoutDestination, RegistryClient, registrySource } = await import(
    "../../lib/transport/mod.ts"
  );
  const [repo, tag] = repoTag.split(":");
  using client = await RegistryClient.connect({ registry: host });
  const layout = await OciLayout.open(dest, { create: true });
  await copyImage(registrySource(client, repo, tag), layoutDestination(layout), {
    platform: { os: "linux", arch: "amd64" },
    tags: [tag],
  });
}

const rm = (p: string) => () => Deno.remove(p, { recursive: true }).catch(() => {});

const bench: Benchmark = {
  name: "pull",
  describe: "registry → OCI layout pull of the multi-layer and Debian images beside skopeo copy",
  async setup() {
    // the fixtures are loaded here, not at the top: this file is also the timed "ours" command
    const { debianLayout, multiLayerLayout, startRegistry } = await import("../fixtures/mod.ts");
    const reg = await startRegistry();
    const work = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "bench-pull-" });
    const images = [["multi", await multiLayerLayout()], ["debian", await debianLayout()]] as const;
    for (const [name, f] of images) await reg.pushLayout(f.dir, f.tag, `${name}:1`);
    const deno = [Deno.execPath(), "run", "-A", "--cached-only", self];
    return {
      cases: images.map(([name]) => ({
        label: `pull ${name}`,
        ours: { argv: [...deno, reg.host, `${name}:1`, `${work}/ours`], before: rm(`${work}/ours`) },
        reference: {
          argv: [
            "skopeo",
            "copy",
            "--quiet",
            "--src-tls-verify=false",
            `docker://${reg.host}/${name}:1`,
            `oci:${work}/skopeo:1`,
          ],
          before: rm(`${work}/skopeo`),
        },
        referenceName: "skopeo copy",
      })),
      async cleanup() {
        await reg.stop();
        await rm(work)();
      },
    };
  },
};
export default bench;
