/**
 * "apt works": a build on the debootstrap'ed Debian base whose run installs a package from Debian's
 * mirror (the host network is shared with the build container), as root, through the CLI.
 */
import assert from "node:assert/strict";
import { debianLayout } from "../../scripts/fixtures/mod.ts";
import { notReady } from "./_ready.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

Deno.test({
  name: "a run step installs a package with apt-get from Debian's mirror",
  ignore: notReady !== undefined || Deno.uid() !== 0,
  fn: async () => {
    const base = await debianLayout();
    const work = await Deno.makeTempDir({ prefix: "e2e-apt-" });
    try {
      await Deno.writeTextFile(
        `${work}/stacker.yaml`,
        [
          "withhello:",
          "  from:",
          "    type: oci",
          `    url: ${base.dir}:${base.tag}`,
          "  run: |",
          "    export DEBIAN_FRONTEND=noninteractive",
          "    apt-get update",
          "    apt-get install -y --no-install-recommends hello",
          "    rm -rf /var/lib/apt/lists/*",
          "    hello > /greeting",
          "",
        ].join("\n"),
      );
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--cached-only", `${root}/cli.ts`, "build", "-f", `${work}/stacker.yaml`],
        cwd: work,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 0, err);
      const inspect = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--cached-only", `${root}/cli.ts`, "inspect", "--json"],
        cwd: work,
        stdout: "piped",
      }).output();
      const [img] = JSON.parse(new TextDecoder().decode(inspect.stdout));
      const top = img.layers.at(-1).digest as string;
      const tar = await new Deno.Command("tar", {
        args: ["-xzOf", `${work}/oci/blobs/${top.replace(":", "/")}`, "greeting"],
        stdout: "piped",
      }).output();
      assert.equal(new TextDecoder().decode(tar.stdout).trim(), "Hello, world!");
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  },
});
