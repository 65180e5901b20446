/**
 * "apt works": the pipeline (real layer engine and LXC runtime; stand-in storage and layout) builds
 * on the debootstrap'ed Debian base and installs a package from Debian's mirror in the run step.
 */
import assert from "node:assert/strict";
import { debianLayout } from "../../scripts/fixtures/mod.ts";
import { memoryLogger } from "../../lib/util/log.ts";
import type { ImageConfig, Manifest } from "../../lib/oci/types.ts";
import { buildLayers } from "../../lib/builder/build.ts";
import { countingServices } from "./_helpers/counting_services.ts";

Deno.test({
  name: "a run step on the Debian base installs a package with apt-get",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const base = await debianLayout();
    const dir = await Deno.makeTempDir({ prefix: "apt-test-" });
    try {
      const services = await countingServices({
        ociDir: `${dir}/oci`,
        rootsDir: `${dir}/roots`,
        stackerDir: `${dir}/stacker`,
      });
      const { log } = memoryLogger("info");
      await buildLayers([{
        def: {
          name: "withhello",
          from: { type: "oci", url: `${base.dir}:${base.tag}` },
          run: [
            "export DEBIAN_FRONTEND=noninteractive",
            "apt-get update -qq",
            "apt-get install -y -qq --no-install-recommends hello >/dev/null",
            "rm -rf /var/lib/apt/lists/*",
            "hello > /greeting",
          ],
        },
        file: `${dir}/stacker.yaml`,
        stackerYaml: "",
      }], {
        ociDir: `${dir}/oci`,
        stackerDir: `${dir}/stacker`,
        rootsDir: `${dir}/roots`,
        env: { SOURCE_DATE_EPOCH: "1700000000" },
        log,
        services,
      });
      const desc = (await services.output.resolve("withhello"))!;
      const manifest = await services.output.readJson<Manifest>(desc);
      const config = await services.output.readJson<ImageConfig>(manifest.config);
      assert.equal(manifest.layers.length, 2);
      assert.equal(config.rootfs.diff_ids.length, 2);
      const top = manifest.layers[1].digest.replace(":", "/");
      const list = await new Deno.Command("tar", {
        args: ["-tzf", `${dir}/oci/blobs/${top}`],
        stdout: "piped",
      })
        .output();
      const names = new TextDecoder().decode(list.stdout).split("\n");
      assert.ok(names.includes("usr/bin/hello"), "the package's binary is in the new layer");
      const greeting = await new Deno.Command("tar", {
        args: ["-xzOf", `${dir}/oci/blobs/${top}`, "greeting"],
        stdout: "piped",
      }).output();
      assert.equal(new TextDecoder().decode(greeting.stdout).trim(), "Hello, world!");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
