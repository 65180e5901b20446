/**
 * Parse + order of a generated project: 50 stacker files, 1,000 layers, prerequisite chains with
 * diamonds, `built` bases and `stacker://` imports, layers listed against their build order so the
 * ordering needs many passes.
 *   load+order — ours (`deno run` of this file: loadStackerFiles on every file) beside `cat` of the
 *                same files (the I/O floor; process start-up dominates both).
 * The in-process figure (median of 20 loads, without Deno start-up) is logged during setup.
 * Run directly (`deno run -A scripts/bench/parse.ts DIR`), it is the "ours" side.
 */
import { loadStackerFiles } from "../../lib/stackerfile/mod.ts";
import { Logger } from "../../lib/util/log.ts";
import type { Benchmark } from "./_types.ts";

const self = new URL(import.meta.url).pathname;
const FILES = 50;
const PER_FILE = 20;

/** Writes the project under `dir`; returns the stacker file paths. */
export async function generateProject(dir: string): Promise<string[]> {
  const paths: string[] = [];
  for (let f = 0; f < FILES; f++) {
    const prereqs = f === 0 ? [] : [`../f${f - 1}/stacker.yaml`];
    if (f >= 2 && f % 5 === 0) prereqs.push(`../f${f - 2}/stacker.yaml`); // diamonds
    const layers: string[] = [];
    for (let i = 0; i < PER_FILE; i++) {
      const name = `l${f}_${i}`;
      const from = i > 0
        ? `  from: {type: built, tag: l${f}_${i - 1}}`
        : f > 0
        ? `  from: {type: built, tag: l${f - 1}_${PER_FILE - 1}}`
        : `  from: {type: docker, url: "docker://example.com/base:\${{TAG:1.0}}"}`;
      layers.push([
        `${name}:`,
        from,
        `  imports:`,
        `    - path: files/${name}.txt`,
        `      dest: /etc/${name}/`,
        `      mode: 0644`,
        ...(i > 1 ? [`    - stacker://l${f}_${i - 2}/out/`] : []),
        `  environment: {LAYER: ${name}, N: ${i}}`,
        `  run:`,
        `    - echo building ${name}`,
        `    - make -C /src ${name}`,
        `  cmd: /bin/app --layer ${name} "quoted arg"`,
        `  labels: {org.example.layer: "${name}"}`,
        `  build_only: ${i % 3 === 0}`,
      ].join("\n"));
    }
    // Half the files list layers backwards: one ordering pass per layer.
    if (f % 2 === 1) layers.reverse();
    const text = `config:\n  prerequisites: [${prereqs.join(", ")}]\n${layers.join("\n")}\n`;
    await Deno.mkdir(`${dir}/f${f}`, { recursive: true });
    await Deno.writeTextFile(`${dir}/f${f}/stacker.yaml`, text);
    paths.push(`${dir}/f${f}/stacker.yaml`);
  }
  return paths;
}

const bench: Benchmark = {
  name: "parse",
  describe: `load + order ${FILES} stacker files / ${FILES * PER_FILE} layers vs cat of the files`,
  async setup() {
    const dir = await Deno.makeTempDir({ prefix: "bench-parse-" });
    const paths = await generateProject(dir);
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      const plan = await loadStackerFiles([paths[FILES - 1]]);
      times.push(performance.now() - t0);
      if (plan.layers.length !== FILES * PER_FILE) throw new Error(`got ${plan.layers.length} layers`);
    }
    times.sort((a, b) => a - b);
    new Logger().info(
      `parse in-process: ${FILES} files / ${FILES * PER_FILE} layers loaded and ordered in ` +
        `${times[10].toFixed(1)} ms (median of 20, first ${times[0].toFixed(1)}..max ${
          times[19].toFixed(1)
        } ms)`,
    );
    return {
      cases: [{
        label: "load+order",
        ours: { argv: [Deno.execPath(), "run", "-A", self, dir] },
        reference: { argv: ["sh", "-c", `cat ${dir}/f*/stacker.yaml > /dev/null`] },
        referenceName: "cat",
      }],
      cleanup: () => Deno.remove(dir, { recursive: true }),
    };
  },
};
export default bench;

if (import.meta.main) {
  const dir = Deno.args[0];
  const plan = await loadStackerFiles([`${dir}/f${FILES - 1}/stacker.yaml`]);
  if (plan.layers.length !== FILES * PER_FILE) throw new Error(`got ${plan.layers.length} layers`);
}
