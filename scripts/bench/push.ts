/**
 * Push an OCI layout to the local registry (an empty registry each run, so every blob is uploaded):
 * the multi-layer fixture and the Debian minbase image, ours beside `skopeo copy oci:… docker://…`.
 * Run directly (`deno run -A scripts/bench/push.ts LAYOUT TAG HOST REPO:TAG`), it is the "ours" side.
 */
import type { Benchmark } from "./_types.ts";

const self = new URL(import.meta.url).pathname;

if (import.meta.main) {
  const [dir, tag, host, repoTag] = Deno.args;
  const { OciLayout } = await import("../../lib/oci/mod.ts");
  const { copyImage, layoutSource, RegistryClient, registryDestination } = await import(
    "../../lib/transport/mod.ts"
  );
  const [repo, destTag] = repoTag.split(":");
  using client = await RegistryClient.connect({ registry: host });
  await copyImage(layoutSource(await OciLayout.open(dir), tag), registryDestination(client, repo), {
    platform: { os: "linux", arch: "amd64" },
    tags: [destTag],
  });
}

const bench: Benchmark = {
  name: "push",
  describe: "OCI layout → empty registry push of the multi-layer and Debian images beside skopeo copy",
  async setup() {
    // the fixtures are loaded here, not at the top: this file is also the timed "ours" command
    const { debianLayout, multiLayerLayout, startRegistry } = await import("../fixtures/mod.ts");
    const reg = await startRegistry();
    // the registry keeps no cache (no storage.cache in its config), so emptying its storage is safe
    const empty = () => Deno.remove(`${reg.dir}/data/docker`, { recursive: true }).catch(() => {});
    const images = [["multi", await multiLayerLayout()], ["debian", await debianLayout()]] as const;
    const deno = [Deno.execPath(), "run", "-A", "--cached-only", self];
    return {
      cases: images.map(([name, f]) => ({
        label: `push ${name}`,
        ours: { argv: [...deno, f.dir, f.tag, reg.host, `${name}:1`], before: empty },
        reference: {
          argv: [
            "skopeo",
            "copy",
            "--quiet",
            "--dest-tls-verify=false",
            `oci:${f.dir}:${f.tag}`,
            `docker://${reg.host}/${name}:1`,
          ],
          before: empty,
        },
        referenceName: "skopeo copy",
      })),
      cleanup: () => reg.stop(),
    };
  },
};
export default bench;
