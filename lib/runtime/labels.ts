/**
 * `generate_labels` (spec §1.9): the script runs in a throw-away writable snapshot of the built
 * layer with an empty host dir at /stacker/oci-labels; every file it leaves there is a label (name
 * = key, content verbatim = value).
 */
import { RuntimeError } from "../util/errors.ts";
import type { LayerContainerOptions } from "./run_script.ts";
import { layerRunSpec, runScriptText } from "./run_script.ts";
import { lxcLogErrors, runInContainer } from "./run_in_container.ts";

export interface GenerateLabelsOptions extends Omit<LayerContainerOptions, "importsDir" | "legacyImport"> {
  readonly script: string | readonly string[];
}

/**
 * Runs the script and returns the labels. The caller owns the snapshot (`lxcRootfs`) and throws it
 * away. Throws RuntimeError `runtime.labels-failed` on a non-zero exit.
 */
export async function generateLabels(opts: GenerateLabelsOptions): Promise<Record<string, string>> {
  await Deno.mkdir(opts.stackerDir, { recursive: true });
  const work = await Deno.makeTempDir({ dir: opts.stackerDir, prefix: ".labels-" });
  try {
    const labelsDir = `${work}/labels`;
    const scriptDir = `${work}/script`;
    await Deno.mkdir(labelsDir, { mode: 0o755 });
    await Deno.mkdir(scriptDir, { mode: 0o755 });
    await Deno.chmod(work, 0o755);
    await Deno.writeTextFile(`${scriptDir}/.stacker-run.sh`, runScriptText(opts.script), { mode: 0o755 });
    const spec = layerRunSpec(
      {
        ...opts,
        importsDir: scriptDir,
        extraMounts: [...(opts.extraMounts ?? []), { source: labelsDir, dest: "/stacker/oci-labels" }],
      },
      ["/stacker/imports/.stacker-run.sh"],
    );
    const r = await runInContainer(spec, {
      log: opts.log,
      signal: opts.signal,
      helper: opts.helper,
      helperEnv: opts.helperEnv,
    });
    if (r.exitCode !== 0) {
      const errors = await lxcLogErrors(spec.logFile);
      throw new RuntimeError(
        `generate_labels failed for image "${opts.layer}": ${
          r.signal !== undefined ? `killed by signal ${r.signal}` : `exit code ${r.exitCode}`
        }${errors.length ? "\n" + errors.join("\n") : ""}`,
        { code: "runtime.labels-failed", context: { layer: opts.layer, exitCode: r.exitCode } },
      );
    }
    const labels: Record<string, string> = {};
    for await (const e of Deno.readDir(labelsDir)) {
      // Only regular files count; a symlink the script made must not make us read host files.
      if (e.isFile) labels[e.name] = await Deno.readTextFile(`${labelsDir}/${e.name}`);
    }
    return Object.fromEntries(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
  }
}
