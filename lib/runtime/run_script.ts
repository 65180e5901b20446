/**
 * A layer's `run` script in a container (spec §1.6): written to `<importsDir>/.stacker-run.sh`
 * (mode 0755, `#!/bin/sh -xe` unless it has its own shebang), run as
 * `/stacker/imports/.stacker-run.sh` (or `/stacker/.stacker-run.sh` with a legacy `import:`), with
 * the output streamed live to our stdout and stderr.
 */
import { RuntimeError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { silentLogger } from "../util/log.ts";
import { lxcLogErrors, runInContainer, uniqueContainerName } from "./run_in_container.ts";
import type { RunInContainerOptions } from "./run_in_container.ts";
import type { BindMount, RunResult, RunSpec } from "./types.ts";

/** The script text of `run`: list items joined by newlines, `#!/bin/sh -xe` unless it has a shebang. */
export function runScriptText(run: string | readonly string[]): string {
  const body = typeof run === "string" ? run : run.join("\n");
  const text = body.startsWith("#!") ? body : `#!/bin/sh -xe\n${body}`;
  return text.endsWith("\n") ? text : text + "\n";
}

/** What a script run shares with every container of the same layer (the mounts, env and rootfs). */
export interface LayerContainerOptions {
  /** Layer name: container name prefix, log file name, messages. */
  readonly layer: string;
  readonly lxcRootfs: RunSpec["lxcRootfs"];
  /** The stacker dir: LXC's path is `<stackerDir>/lxc`, the log `<stackerDir>/lxc-<layer>.log`. */
  readonly stackerDir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly binds?: readonly BindMount[];
  /** The layer's imports (read-only at /stacker/imports, or at /stacker when `legacyImport`). */
  readonly importsDir?: string;
  readonly legacyImport?: boolean;
  readonly extraMounts?: readonly BindMount[];
  readonly log?: Logger;
  readonly signal?: AbortSignal;
  /** Passed to runInContainer (tests, benchmarks). */
  readonly helper?: readonly string[];
  readonly helperEnv?: Readonly<Record<string, string>>;
  readonly busybox?: string;
}

export interface RunScriptOptions extends LayerContainerOptions {
  readonly run: string | readonly string[];
  /** The stacker file the layer came from (for the failure message). */
  readonly file: string;
  readonly importsDir: string;
  /** On failure run this command interactively in the same rootfs and mounts, then still fail. */
  readonly onRunFailure?: string;
  /** Put the LXC log's path in the failure message. */
  readonly debug?: boolean;
  /** Default "inherit" (live output); "piped" captures into the error's context (tests). */
  readonly stdout?: RunInContainerOptions["stdout"];
  readonly stderr?: RunInContainerOptions["stderr"];
}

/** The log file of a layer's runs. */
export function lxcLogFile(stackerDir: string, layer: string): string {
  return `${stackerDir}/lxc-${layer.replace(/[^A-Za-z0-9_.-]/g, "_")}.log`;
}

/** The RunSpec of `argv` in a layer's container. */
export function layerRunSpec(
  o: LayerContainerOptions,
  argv: readonly string[],
  interactive = false,
): RunSpec {
  return {
    name: uniqueContainerName(`stacker-${o.layer}`),
    lxcRootfs: o.lxcRootfs,
    argv,
    env: o.env,
    binds: o.binds ?? [],
    importsDir: o.legacyImport ? undefined : o.importsDir,
    legacyImportsDir: o.legacyImport ? o.importsDir : undefined,
    extraMounts: o.extraMounts,
    logFile: lxcLogFile(o.stackerDir, o.layer),
    lxcPath: `${o.stackerDir}/lxc`,
    interactive,
    busybox: o.busybox,
  };
}

function describe(r: RunResult): string {
  return r.signal !== undefined ? `killed by signal ${r.signal}` : `exit code ${r.exitCode}`;
}

/**
 * Writes and runs the layer's script. Resolves when it exits 0; otherwise (after `onRunFailure`,
 * if given) throws RuntimeError `runtime.run-failed`: `run commands failed for image "<layer>" in
 * "<file>": exit code N` (or `killed by signal N`) plus the ERROR lines of the LXC log.
 */
export async function runScript(opts: RunScriptOptions): Promise<void> {
  const log = opts.log ?? silentLogger;
  await Deno.mkdir(opts.importsDir, { recursive: true });
  const scriptHost = `${opts.importsDir}/.stacker-run.sh`;
  await Deno.writeTextFile(scriptHost, runScriptText(opts.run), { mode: 0o755 });
  await Deno.chmod(scriptHost, 0o755);
  const script = opts.legacyImport ? "/stacker/.stacker-run.sh" : "/stacker/imports/.stacker-run.sh";
  const spec = layerRunSpec(opts, [script]);
  // The log holds the last run of the layer only.
  await Deno.remove(spec.logFile).catch(() => {});
  const common = {
    log,
    signal: opts.signal,
    helper: opts.helper,
    helperEnv: opts.helperEnv,
  };
  const r = await runInContainer(spec, { ...common, stdout: opts.stdout, stderr: opts.stderr });
  if (r.exitCode === 0) return;
  if (opts.onRunFailure) {
    log.info(`run failed: starting "${opts.onRunFailure}" in the container`, { layer: opts.layer });
    await runInteractive(opts, opts.onRunFailure);
  }
  const errors = await lxcLogErrors(spec.logFile);
  const tail = [
    ...(errors.length ? ["LXC errors:", ...errors] : []),
    ...(opts.debug ? [`LXC log: ${spec.logFile}`] : []),
  ];
  throw new RuntimeError(
    `run commands failed for image "${opts.layer}" in "${opts.file}": ${describe(r)}${
      tail.length ? "\n" + tail.join("\n") : ""
    }`,
    {
      code: "runtime.run-failed",
      exitCode: 1,
      context: {
        layer: opts.layer,
        file: opts.file,
        exitCode: r.exitCode,
        signal: r.signal,
        logFile: spec.logFile,
      },
    },
  );
}

/**
 * Runs `cmd` (through `/bin/sh -c`) interactively in a layer's container: stdin, stdout and stderr
 * are the caller's, ^C belongs to the command. For `chroot` and `--on-run-failure`.
 */
export async function runInteractive(opts: LayerContainerOptions, cmd: string): Promise<RunResult> {
  return await runInContainer(layerRunSpec(opts, ["/bin/sh", "-c", cmd], true), {
    log: opts.log,
    signal: opts.signal,
    helper: opts.helper,
    helperEnv: opts.helperEnv,
  });
}
