/** CLI start-up: `stacker version` beside `skopeo --version`, the floor every command pays. */
import type { Benchmark } from "./_types.ts";

const root = new URL("../..", import.meta.url).pathname;

const bench: Benchmark = {
  name: "startup",
  describe: "process start-up of the CLI (stacker version) beside skopeo --version",
  setup() {
    return Promise.resolve({
      cases: [{
        label: "version",
        ours: { argv: [Deno.execPath(), "run", "-A", "--cached-only", `${root}cli.ts`, "version"] },
        reference: { argv: ["skopeo", "--version"] },
      }],
    });
  },
};
export default bench;
