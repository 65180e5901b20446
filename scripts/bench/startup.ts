/**
 * CLI start-up, the floor every command pays: `stacker version` beside `skopeo --version`, a
 * command's `--help` (parsed from metadata, no command module loaded) beside `skopeo copy --help`,
 * and `stacker inspect` of a small layout (loads only the layout reader) beside `skopeo inspect`.
 */
import type { Benchmark } from "./_types.ts";

const root = new URL("../..", import.meta.url).pathname;

const bench: Benchmark = {
  name: "startup",
  describe: "CLI start-up: version, build --help and inspect beside skopeo's",
  async setup() {
    const { multiLayerLayout } = await import("../fixtures/mod.ts");
    const { dir, tag } = await multiLayerLayout();
    // an empty cwd: inspect checks the owner of ./.stacker, which must not be the repo's
    const cwd = await Deno.makeTempDir({ prefix: "bench-startup-" });
    const stacker = [Deno.execPath(), "run", "-A", "--cached-only", `${root}cli.ts`];
    return {
      cases: [
        {
          label: "version",
          ours: { argv: [...stacker, "version"], cwd },
          reference: { argv: ["skopeo", "--version"], cwd },
        },
        {
          label: "build --help",
          ours: { argv: [...stacker, "build", "--help"], cwd },
          reference: { argv: ["skopeo", "copy", "--help"], cwd },
          referenceName: "skopeo copy --help",
        },
        {
          label: "inspect",
          ours: { argv: [...stacker, "--oci-dir", dir, "inspect", tag], cwd },
          reference: { argv: ["skopeo", "inspect", `oci:${dir}:${tag}`], cwd },
          referenceName: "skopeo inspect",
        },
      ],
      cleanup: () => Deno.remove(cwd, { recursive: true }),
    };
  },
};
export default bench;
