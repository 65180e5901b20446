/**
 * A build in its own process (for kill -9 tests): `deno run -A run_build.ts <json>` with
 * `{dir, defs, env}`; builds with the host-tool services into `<dir>/{oci,stacker,roots}` and prints
 * one JSON line with the results.
 */
import { buildLayers } from "../../../lib/builder/build.ts";
import type { LayerDefinition } from "../../../lib/builder/types.ts";
import { Logger } from "../../../lib/util/log.ts";
import { countingServices } from "./counting_services.ts";

const { dir, defs, env, lockTimeoutMs } = JSON.parse(Deno.args[0]) as {
  dir: string;
  defs: LayerDefinition[];
  env: Record<string, string>;
  lockTimeoutMs?: number;
};
const services = await countingServices({
  ociDir: `${dir}/oci`,
  rootsDir: `${dir}/roots`,
  stackerDir: `${dir}/stacker`,
});
const result = await buildLayers(
  defs.map((def) => ({ def, file: `${dir}/stacker.yaml`, stackerYaml: "x" })),
  {
    ociDir: `${dir}/oci`,
    stackerDir: `${dir}/stacker`,
    rootsDir: `${dir}/roots`,
    env,
    services,
    lockTimeoutMs,
    log: new Logger({ level: "info" }),
  },
);
Deno.stdout.writeSync(
  new TextEncoder().encode(JSON.stringify(result.layers.map((l) => [l.name, l.cached])) + "\n"),
);
