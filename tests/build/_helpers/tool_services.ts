/**
 * The build's ports for tests, while lib/storage is being written: the real layer engine, runtime
 * and fetch stage (lib/build/_stages.ts: unpack, generate, LXC runs, labels, the base cache) and the
 * real output layout (lib/oci), over a stand-in copy storage (plain directories under the roots
 * dir, `cp -a`). Counters record every unpack, run and layer generation, so tests can
 * prove a cached rebuild does none of them. Root only.
 */
import { createHash } from "node:crypto";
import { NotImplementedError } from "../../../lib/util/errors.ts";
import { type Logger, silentLogger } from "../../../lib/util/log.ts";
import type { Digest } from "../../../lib/oci/types.ts";
import { baseFetcher, realStages } from "../../../lib/build/_stages.ts";
import { hostView } from "../../../lib/build/_wiring.ts";
import type { BuildServices, SnapshotPort, StoragePort } from "../../../lib/build/services.ts";
import { OciLayout } from "../../../lib/oci/mod.ts";

export interface Counters {
  unpacks: number;
  runs: number;
  generated: number;
}

async function sh(
  argv: string[],
  opts: { env?: Record<string, string>; stdin?: string } = {},
): Promise<string> {
  const r = await new Deno.Command(argv[0], {
    args: argv.slice(1),
    stdout: "piped",
    stderr: "piped",
    env: opts.env,
    clearEnv: opts.env !== undefined,
  }).output();
  if (!r.success) throw new Error(`${argv.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
  return new TextDecoder().decode(r.stdout);
}

const hex = (s: string) => createHash("sha256").update(s).digest("hex");

async function exists(p: string): Promise<boolean> {
  return await Deno.lstat(p).then(() => true, () => false);
}

function copyStorage(rootsDir: string): StoragePort {
  const layerDir = (chain: readonly Digest[]) => `${rootsDir}/layers/${hex(chain.join(","))}`;
  const empty = `${rootsDir}/empty`;
  return {
    kind: "copy",
    async ensureLayers(chain, unpack) {
      for (let i = 0; i < chain.length; i++) {
        const dir = layerDir(chain.slice(0, i + 1));
        if (await exists(dir)) continue;
        const tmp = `${dir}.tmp`;
        await Deno.remove(tmp, { recursive: true }).catch(() => {});
        await Deno.mkdir(tmp, { recursive: true });
        if (i > 0) await sh(["cp", "-a", `${layerDir(chain.slice(0, i))}/.`, `${tmp}/`]);
        await unpack(tmp, "apply", i);
        await Deno.rename(tmp, dir);
      }
    },
    async prepare(name, base) {
      await Deno.mkdir(empty, { recursive: true });
      const work = `${rootsDir}/names/${name}.work`;
      await Deno.remove(work, { recursive: true }).catch(() => {});
      await Deno.mkdir(work, { recursive: true });
      const baseDir = "chain" in base
        ? (base.chain.length ? layerDir(base.chain) : empty)
        : "built" in base
        ? `${rootsDir}/names/${base.built}/rootfs`
        : empty;
      await sh(["cp", "-a", baseDir, `${work}/rootfs`]);
      await Deno.writeTextFile(`${work}/base`, baseDir);
      return snapshotOf(name, baseDir, `${work}/rootfs`);
    },
    async commit(name) {
      const dst = `${rootsDir}/names/${name}`;
      await Deno.remove(dst, { recursive: true }).catch(() => {});
      await Deno.rename(`${dst}.work`, dst);
    },
    async tempSnapshot(name) {
      const dir = await Deno.makeTempDir({ dir: rootsDir, prefix: "temp-snapshot-" });
      await sh(["cp", "-a", `${rootsDir}/names/${name}/rootfs`, `${dir}/rootfs`]);
      return {
        ...snapshotOf(name, `${rootsDir}/names/${name}/rootfs`, `${dir}/rootfs`),
        [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }),
      };
    },
    async delete(name) {
      await Deno.remove(`${rootsDir}/names/${name}`, { recursive: true }).catch(() => {});
    },
    async list() {
      const names: string[] = [];
      if (await exists(`${rootsDir}/names`)) {
        for await (const e of Deno.readDir(`${rootsDir}/names`)) {
          if (!e.name.endsWith(".work")) names.push(e.name);
        }
      }
      return { layers: [], names };
    },
    gc() {
      return Promise.resolve({ removed: 0 });
    },
  };
}

function snapshotOf(name: string, base: string, rootfs: string): SnapshotPort {
  return { name, lxcRootfs: { path: `dir:${rootfs}` }, diff: { kind: "trees", base, rootfs } };
}

export interface ToolServicesOptions {
  readonly ociDir: string;
  readonly rootsDir: string;
  readonly stackerDir: string;
  readonly log?: Logger;
}

const HELPER = new URL("./run_helper_main.ts", import.meta.url).pathname;

/** Build services made of host tools; see the module doc. */
export async function toolServices(
  opts: ToolServicesOptions,
): Promise<BuildServices & { counters: Counters }> {
  const counters: Counters = { unpacks: 0, runs: 0, generated: 0 };
  const stages = realStages({
    stackerDir: opts.stackerDir,
    helper: [Deno.execPath(), "run", "-A", "--cached-only", HELPER],
    log: opts.log ?? silentLogger,
  });
  const output = await OciLayout.open(opts.ociDir, { create: true });
  await Deno.mkdir(opts.rootsDir, { recursive: true });
  return {
    counters,
    output,
    storage: copyStorage(opts.rootsDir),
    fetchBase: baseFetcher({ stackerDir: opts.stackerDir, env: {} }),
    ...stages,
    async unpackLayer(open, dir, o) {
      counters.unpacks++;
      await stages.unpackLayer(open, dir, o);
    },
    async generateLayer(input, o) {
      const g = await stages.generateLayer(input, o);
      if (g) counters.generated++;
      return g;
    },
    async runLayer(o) {
      counters.runs++;
      await stages.runLayer(o);
    },
    withHostView: hostView,
  };
}
