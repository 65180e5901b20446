/**
 * `runInContainer`: one command in one container, from the main process. The work happens in a
 * helper process (our own program in `internal-run` mode, see helper.ts), so that liblxc's cgroup
 * moves, its SIGPIPE inheritance and any crash in C stay out of the builder. The helper gets only
 * fds 0/1/2 (Deno spawns with close-on-exec everywhere else), and they become the command's.
 */
import { RuntimeError } from "../util/errors.ts";
import { findHelper } from "../util/helpers.ts";
import type { Logger } from "../util/log.ts";
import { silentLogger } from "../util/log.ts";
import { validateRunSpec } from "./container_config.ts";
import { prepareMountPoints } from "./_mount_points.ts";
import { mustRedact, pumpRedacted } from "./_redacted_output.ts";
import { type HelperOutcome, type HelperRequest, processStartTime, type WatchedProcess } from "./helper.ts";
import { selfCommand } from "./self_command.ts";
import { OUTER_PID_ENV } from "./userns.ts";
import type { RunResult, RunSpec } from "./types.ts";

export type StdioMode = "inherit" | "piped" | "null";

export interface RunInContainerOptions {
  readonly log?: Logger;
  /** Stops the container (SIGTERM to the helper); ignored for interactive runs. */
  readonly signal?: AbortSignal;
  /** argv prefix that starts the helper; the request file is appended (default: selfCommand() + internal-run). */
  readonly helper?: readonly string[];
  /** Environment of the helper process (default: this process's); the command never sees it. */
  readonly helperEnv?: Readonly<Record<string, string>>;
  /** Default "null" for stdin (or "inherit" when `spec.interactive`), "inherit" for stdout/stderr. */
  readonly stdin?: StdioMode;
  readonly stdout?: StdioMode;
  readonly stderr?: StdioMode;
}

export interface ContainerRunResult extends RunResult {
  /** Captured output when the stream was "piped". */
  readonly stdout?: Uint8Array;
  readonly stderr?: Uint8Array;
}

/** A container name that no other run (in this or another process) uses: `<prefix>-<random>`. */
export function uniqueContainerName(prefix: string): string {
  const clean = prefix.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/^[^A-Za-z0-9]+/, "").slice(0, 40) || "run";
  return `${clean}-${crypto.randomUUID().slice(0, 12)}`;
}

/** The ERROR lines of an LXC log (the only useful diagnostics liblxc gives), at most `max`. */
export async function lxcLogErrors(logFile: string, max = 20): Promise<string[]> {
  try {
    const lines = (await Deno.readTextFile(logFile)).split("\n").filter((l) => / ERROR /.test(l));
    // Harmless noise LXC logs on every attach (RUNTIME-NOTES.md §2).
    return lines.filter((l) => !l.includes('Unsupported config key "lxc.seccomp"')).slice(-max);
  } catch {
    return [];
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** The host dir where new rootfs entries land: the dir of a `dir:` rootfs or an overlay's upper dir. */
export function writableRoot(lxcRootfsPath: string): string | undefined {
  if (lxcRootfsPath.startsWith("/")) return lxcRootfsPath;
  if (lxcRootfsPath.startsWith("dir:")) return lxcRootfsPath.slice(4);
  if (lxcRootfsPath.startsWith("overlay:") || lxcRootfsPath.startsWith("overlayfs:")) {
    return lxcRootfsPath.split(":").at(-1);
  }
  return undefined;
}

/**
 * Runs `spec.argv` in a fresh container and resolves when it and its container are gone.
 *
 * Checks before anything starts: the spec's values (RuntimeError `runtime.bad-spec`) and every bind
 * source (`runtime.bind-missing`, "bind mount source … does not exist"). A non-zero exit is a
 * result, not an error; RuntimeError `runtime.container` means the container could not run, with
 * the LXC log's ERROR lines in the message. The empty `/stacker` mount point LXC creates in the
 * rootfs is removed again when the rootfs did not have one, and so is the empty mount point made
 * for the host's /etc/resolv.conf. One container per rootfs at a time: these host-side changes
 * assume nothing else runs in it.
 */
export async function runInContainer(
  spec: RunSpec,
  opts: RunInContainerOptions = {},
): Promise<ContainerRunResult> {
  const log = opts.log ?? silentLogger;
  validateRunSpec(spec);
  for (const b of [...spec.binds, ...(spec.extraMounts ?? [])]) {
    if (!(await exists(b.source))) {
      throw new RuntimeError(`bind mount source "${b.source}" does not exist`, {
        code: "runtime.bind-missing",
        context: { source: b.source, dest: b.dest },
      });
    }
  }
  const env = opts.helperEnv ?? Deno.env.toObject();
  const busybox = spec.busybox ?? await findHelper("busybox", { log, env });
  await Deno.mkdir(spec.lxcPath, { recursive: true });
  const work = await Deno.makeTempDir({ dir: spec.lxcPath, prefix: `.req-${spec.name}-` });
  const root = writableRoot(spec.lxcRootfs.path);
  const points = root ? await prepareMountPoints(root, overlayLowers(spec.lxcRootfs.path)) : undefined;
  try {
    const watch: WatchedProcess[] = [];
    for (const pid of [Deno.pid, Number(env[OUTER_PID_ENV] ?? NaN)]) {
      const start = Number.isInteger(pid) ? processStartTime(pid) : undefined;
      if (start) watch.push({ pid, start });
    }
    const req: HelperRequest = { spec: { ...spec, busybox }, resultFile: `${work}/result.json`, watch };
    await Deno.writeTextFile(`${work}/request.json`, JSON.stringify(req));
    const argv = [...(opts.helper ?? [...selfCommand(), "internal-run"]), `${work}/request.json`];
    log.debug("Starting container", { container: spec.name, argv: spec.argv.join(" ") });
    // With secrets registered, output that would be inherited passes through a redacting filter.
    const redactOut = mustRedact(opts.stdout, spec.interactive);
    const redactErr = mustRedact(opts.stderr, spec.interactive);
    const child = new Deno.Command(argv[0], {
      args: argv.slice(1),
      // LXC keeps its lock files under XDG_RUNTIME_DIR when not real root (§3b).
      env: { ...env, XDG_RUNTIME_DIR: `${spec.lxcPath}/.xdg-run` },
      clearEnv: true,
      stdin: opts.stdin ?? (spec.interactive ? "inherit" : "null"),
      stdout: redactOut ? "piped" : opts.stdout ?? "inherit",
      stderr: redactErr ? "piped" : opts.stderr ?? "inherit",
    }).spawn();
    const pumps = [
      redactOut ? pumpRedacted(child.stdout, Deno.stdout) : undefined,
      redactErr ? pumpRedacted(child.stderr, Deno.stderr) : undefined,
    ];
    const onAbort = () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
    };
    if (!spec.interactive) opts.signal?.addEventListener("abort", onAbort, { once: true });
    let out: Deno.CommandOutput;
    try {
      out = redactOut || redactErr ? await redactedOutcome(child, pumps) : await child.output();
    } finally {
      opts.signal?.removeEventListener("abort", onAbort);
    }
    let outcome: HelperOutcome | undefined;
    try {
      outcome = JSON.parse(await Deno.readTextFile(req.resultFile)) as HelperOutcome;
    } catch { /* the helper died before writing it */ }
    if (!outcome || !outcome.ok) {
      const errors = await lxcLogErrors(spec.logFile);
      const why = outcome
        ? outcome.message
        : `the run helper ended with ${out.signal ?? `exit code ${out.code}`}`;
      throw new RuntimeError(
        `Cannot run "${spec.argv.join(" ")}" in a container: ${why}${
          errors.length ? `\nLXC errors (${spec.logFile}):\n${errors.join("\n")}` : ""
        }`,
        {
          code: outcome && !outcome.ok && outcome.code === "runtime.bind-missing"
            ? outcome.code
            : "runtime.container",
          context: { container: spec.name, logFile: spec.logFile },
        },
      );
    }
    opts.signal?.throwIfAborted();
    return {
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      stdout: opts.stdout === "piped" ? out.stdout : undefined,
      stderr: opts.stderr === "piped" ? out.stderr : undefined,
    };
  } finally {
    await Deno.remove(work, { recursive: true }).catch(() => {});
    await points?.restore();
  }
}

/** The helper's status once it and the redacting pumps are done (no output is collected). */
async function redactedOutcome(
  child: Deno.ChildProcess,
  pumps: readonly (Promise<void> | undefined)[],
): Promise<Deno.CommandOutput> {
  const [status] = await Promise.all([child.status, ...pumps]);
  return { ...status, stdout: new Uint8Array(), stderr: new Uint8Array() } as Deno.CommandOutput;
}

/** The lower dirs of an LXC overlay rootfs (`overlay:<top>:…:<bottom>:<upper>`), top first; [] otherwise. */
export function overlayLowers(lxcRootfsPath: string): string[] {
  if (!lxcRootfsPath.startsWith("overlay:") && !lxcRootfsPath.startsWith("overlayfs:")) return [];
  return lxcRootfsPath.split(":").slice(1, -1);
}
