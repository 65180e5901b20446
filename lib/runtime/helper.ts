/**
 * The run helper: the body of the hidden `internal-run` mode. One short-lived process per run drives
 * liblxc (RUNTIME-NOTES.md §8): SIGPIPE back to default (Deno ignores it and attached commands
 * would inherit that), the config set item by item, a daemonized start whose idle init is the
 * host's static busybox reading a lifeline FIFO that only this process holds open, then
 * `attach_run_wait` on this process's own fds 0/1/2, stop, wait, release.
 *
 * Nothing outlives the helper: a `kill -9` of it closes the FIFO, the idle init ends, and LXC's init
 * takes the container down; when the helper's parent dies (it is re-parented) or it gets SIGTERM,
 * it stops the container itself. As real root it puts itself back into its own cgroups after the
 * start, so no `lxc.monitor.*` directory is left behind.
 */
import { LxcContainer } from "../ffi/liblxc.ts";
import { cloexecFrom, closeFd, mknod, O_RDWR, openFd, resetSignal, S_IFIFO, SIGPIPE } from "../ffi/libc.ts";
import { RuntimeError, StackerError } from "../util/errors.ts";
import { inInitialUserns, moveToCgroups, ownCgroupProcsFiles, removeContainerCgroups } from "./_cgroups.ts";
import { containerConfig, IDLE_ARGV, stackerMountPoints, validateRunSpec } from "./container_config.ts";
import type { RunSpec } from "./types.ts";
import { processStartTime } from "../util/process.ts";

export { processStartTime };

/** What the main process writes for the helper. */
export interface HelperRequest {
  readonly spec: RunSpec & { readonly busybox: string };
  /** Where the helper writes its `HelperOutcome` as JSON. */
  readonly resultFile: string;
  /** Processes whose death stops the container (the builder, and the one outside the user namespace). */
  readonly watch?: readonly WatchedProcess[];
}

/** A process identified by pid and start time (so a reused pid does not count as alive). */
export interface WatchedProcess {
  readonly pid: number;
  readonly start: string;
}

/** What the helper reports back (the exit code alone cannot tell 130 from SIGINT). */
export type HelperOutcome =
  | { readonly ok: true; readonly exitCode: number; readonly signal?: number }
  | { readonly ok: false; readonly message: string; readonly code: string };

/** Exit code of the helper when the container could not run at all. */
export const HELPER_FAILED = 125;

function statusToOutcome(st: number): { exitCode: number; signal?: number } {
  const sig = st & 0x7f;
  if (sig !== 0 && sig !== 0x7f) return { exitCode: 128 + sig, signal: sig };
  return { exitCode: (st >> 8) & 0xff };
}

async function isDirectory(p: string): Promise<boolean> {
  return (await Deno.stat(p)).isDirectory;
}

/**
 * Runs one container as `req` describes and writes the outcome to `req.resultFile`; returns the
 * helper's exit code (the command's, 128+n for a signal, `HELPER_FAILED` when nothing ran).
 */
export async function runHelper(req: HelperRequest): Promise<number> {
  let outcome: HelperOutcome;
  try {
    outcome = { ok: true, ...(await runContainer(req.spec, req.watch ?? [])) };
  } catch (err) {
    outcome = err instanceof StackerError
      ? { ok: false, message: err.message, code: err.code }
      : { ok: false, message: String(err instanceof Error ? err.message : err), code: "runtime.helper" };
  }
  await Deno.writeTextFile(req.resultFile, JSON.stringify(outcome));
  return outcome.ok ? outcome.exitCode : HELPER_FAILED;
}

async function runContainer(
  spec: RunSpec & { busybox: string },
  watched: readonly WatchedProcess[],
): Promise<{ exitCode: number; signal?: number }> {
  validateRunSpec(spec);
  resetSignal(SIGPIPE);
  // Fds our parent leaked (without close-on-exec) would otherwise reach the command (CVE-2024-21626).
  cloexecFrom(3);
  const realRoot = Deno.uid() === 0 && (await inInitialUserns());
  await Deno.mkdir(spec.lxcPath, { recursive: true });
  const runDir = await Deno.makeTempDir({ dir: spec.lxcPath, prefix: `.run-${spec.name}-` });
  const dirs = new Map<string, boolean>();
  for (const b of [...spec.binds, ...(spec.extraMounts ?? [])]) {
    try {
      dirs.set(b.source, await isDirectory(b.source));
    } catch {
      throw new RuntimeError(`bind mount source "${b.source}" does not exist`, {
        code: "runtime.bind-missing",
        context: { source: b.source, dest: b.dest },
      });
    }
  }
  const isDir = (s: string) => dirs.get(s) ?? true;
  let lifelineFd = -1;
  let c: LxcContainer | undefined;
  const listeners: [Deno.Signal, () => void][] = [];
  let watch: ReturnType<typeof setInterval> | undefined;
  let cgroups: string[] = [];
  try {
    const lifeline = `${runDir}/lifeline`;
    mknod(lifeline, S_IFIFO, 0o600);
    // O_RDWR: the open does not wait for a reader, and this process stays the only writer.
    lifelineFd = openFd(lifeline, O_RDWR);
    const stackerView = `${runDir}/stacker`;
    await Deno.mkdir(stackerView, { mode: 0o755 });
    const points = stackerMountPoints(spec, isDir);
    for (const d of points.dirs) await Deno.mkdir(`${stackerView}/${d}`, { recursive: true });
    for (const f of points.files) {
      await Deno.mkdir(`${stackerView}/${f}`.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.writeFile(`${stackerView}/${f}`, new Uint8Array());
    }
    // The container's root (the owner of runDir's files) must reach the view and the FIFO.
    await Deno.chmod(runDir, 0o755);

    const rootfsMount = `${runDir}/rootfs.mount`;
    await Deno.mkdir(rootfsMount);
    const host = { busybox: spec.busybox, lifeline, stackerView, realRoot, rootfsMount };
    const config = containerConfig(spec, host, isDir);
    c = LxcContainer.open(spec.name, spec.lxcPath);
    for (const [k, v] of config) c.setConfigItem(k, v);
    cgroups = realRoot ? await ownCgroupProcsFiles() : [];
    c.wantDaemonize(true);
    const container = c;
    const stop = () => {
      try {
        container.stop();
      } catch { /* already released */ }
    };
    for (const sig of ["SIGTERM", "SIGHUP"] as const) listeners.push([sig, stop]);
    // An interactive command owns ^C; otherwise the run stops on it like on SIGTERM.
    listeners.push(["SIGINT", spec.interactive ? () => {} : stop]);
    for (const [sig, fn] of listeners) Deno.addSignalListener(sig, fn);
    try {
      c.start(IDLE_ARGV);
    } finally {
      // Also after a failed start: LXC moved us into its monitor cgroup either way.
      if (realRoot) await moveToCgroups(cgroups, Deno.pid);
    }
    const parent = Deno.ppid;
    watch = setInterval(() => {
      if (Deno.ppid !== parent || watched.some((w) => processStartTime(w.pid) !== w.start)) stop();
    }, 250);
    const env = Object.entries(spec.env).map(([k, v]) => `${k}=${v}`);
    const st = await c.attachRunWait(spec.argv, { env, cwd: spec.cwd ?? "/" });
    return statusToOutcome(st);
  } finally {
    if (watch !== undefined) clearInterval(watch);
    for (const [sig, fn] of listeners) Deno.removeSignalListener(sig, fn);
    if (c) {
      try {
        c.stop();
        await c.wait("STOPPED", 10);
      } finally {
        c.close();
      }
    }
    if (lifelineFd >= 0) closeFd(lifelineFd);
    if (cgroups.length > 0) await removeContainerCgroups(cgroups, spec.name);
    await Deno.remove(runDir, { recursive: true }).catch(() => {});
    await Deno.remove(`${spec.lxcPath}/${spec.name}`, { recursive: true }).catch(() => {});
  }
}
