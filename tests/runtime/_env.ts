/**
 * Shared set-up of the runtime tests: a busybox rootfs owned by whoever is container root in a mode
 * ("root": real root, privileged container; "user": the test user re-executed in its user namespace),
 * and a way to run container jobs through tests/runtime/_driver.ts in that mode.
 */
import {
  makeBusyboxRootfs,
  runAsTestUser,
  sourceRootForTestUser,
  testUserIds,
} from "../../scripts/fixtures/mod.ts";
import type { RunSpec } from "../../lib/runtime/mod.ts";

export type Mode = "root" | "user";
export const MODES: readonly Mode[] = ["root", "user"];

export interface JobResult {
  readonly exitCode?: number;
  readonly signal?: number;
  readonly stdout?: string;
  readonly stderr?: string;
  readonly error?: string;
  readonly code?: string;
}

export interface Stand extends AsyncDisposable {
  readonly mode: Mode;
  /** A dir the container root owns (mode 0755), under /tmp. */
  readonly base: string;
  readonly rootfs: string;
  /** A unique tag in every container name and path of this stand. */
  readonly tag: string;
  /** A RunSpec for `argv` with the stand's rootfs, log and lxc path. */
  spec(argv: string[], extra?: Partial<RunSpec>): RunSpec;
  /**
   * Runs the specs (one after the other, or concurrently) in one driver process; one result each.
   * `wrap` (root mode) is an argv prefix the driver's command line is appended to.
   */
  run(specs: RunSpec[], parallel?: boolean, wrap?: string[]): Promise<JobResult[]>;
  /** A copy of the rootfs (for containers running at the same time). */
  copyRootfs(name: string): Promise<string>;
  /** Starts the driver without waiting (for the kill -9 test). */
  spawn(specs: RunSpec[]): Promise<Deno.ChildProcess>;
  /** Makes `path` (under base) owned by the container root. */
  own(path: string): Promise<void>;
}

const DENO_ENV = () => ({
  DENO_DIR: Deno.env.get("DENO_DIR") ?? "/var/cache/stacker-ts/deno",
  DENO_NO_UPDATE_CHECK: "1",
});

export async function stand(mode: Mode): Promise<Stand> {
  const tag = `rt${mode}${crypto.randomUUID().slice(0, 8)}`;
  const base = await Deno.makeTempDir({ dir: "/tmp", prefix: `stacker-${tag}-` });
  await Deno.chmod(base, 0o755);
  const rootfs = `${base}/rootfs`;
  await makeBusyboxRootfs(rootfs);
  const ids = mode === "user" ? await testUserIds() : { uid: 0, gid: 0 };
  const own = async (p: string) => {
    if (mode === "user") {
      const r = await new Deno.Command("chown", { args: ["-R", "-h", `${ids.uid}:${ids.gid}`, p] }).output();
      if (!r.success) throw new Error(`chown ${p} failed`);
    }
  };
  await own(base);
  const src = mode === "user"
    ? sourceRootForTestUser()
    : new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
  const driver = `${src}/tests/runtime/_driver.ts`;
  let n = 0;
  const writeJob = async (specs: RunSpec[], parallel = false) => {
    const id = n++;
    const job = `${base}/job-${id}.json`;
    const out = `${base}/out-${id}.json`;
    await Deno.writeTextFile(job, JSON.stringify({ specs, out, parallel }));
    await own(job);
    return { job, out };
  };
  const argvFor = (job: string) => [Deno.execPath(), "run", "-A", "--cached-only", driver, job];
  return {
    mode,
    base,
    rootfs,
    tag,
    own,
    spec(argv, extra = {}) {
      return {
        name: `${tag}-${n}-${crypto.randomUUID().slice(0, 6)}`,
        lxcRootfs: { path: `dir:${rootfs}` },
        argv,
        env: { PATH: "/bin:/sbin:/usr/bin:/usr/sbin" },
        binds: [],
        logFile: `${base}/lxc.log`,
        lxcPath: `${base}/lxc`,
        ...extra,
      };
    },
    async copyRootfs(name) {
      const r = await new Deno.Command("cp", { args: ["-a", rootfs, `${base}/${name}`] }).output();
      if (!r.success) throw new Error("cp -a failed");
      return `${base}/${name}`;
    },
    async run(specs, parallel, wrap = []) {
      const { job, out } = await writeJob(specs, parallel);
      const argv = [...wrap, ...argvFor(job)];
      if (mode === "user") {
        const r = await runAsTestUser(argv, { env: DENO_ENV() });
        if (r.code !== 0) throw new Error(`driver failed (${r.code}): ${r.stderr}`);
      } else {
        const r = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "piped", stderr: "piped" })
          .output();
        if (!r.success) throw new Error(`driver failed (${r.code}): ${new TextDecoder().decode(r.stderr)}`);
      }
      return JSON.parse(await Deno.readTextFile(out));
    },
    async spawn(specs) {
      const { job } = await writeJob(specs);
      const argv = argvFor(job);
      if (mode === "root") {
        return new Deno.Command(argv[0], { args: argv.slice(1), stdout: "null", stderr: "null" }).spawn();
      }
      // setpriv and env exec in place: the spawned pid is the builder's own (outer) process.
      return new Deno.Command("setpriv", {
        args: [
          `--reuid=${ids.uid}`,
          `--regid=${ids.gid}`,
          "--init-groups",
          "--",
          "env",
          "-i",
          "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
          ...Object.entries(DENO_ENV()).map(([k, v]) => `${k}=${v}`),
          ...argv,
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(base, { recursive: true }).catch(() => {});
    },
  };
}

/** Pids whose command line contains `needle` (this process excluded). */
export async function processesWith(needle: string): Promise<number[]> {
  const out: number[] = [];
  for await (const e of Deno.readDir("/proc")) {
    if (!/^\d+$/.test(e.name) || Number(e.name) === Deno.pid) continue;
    try {
      const cmd = (await Deno.readTextFile(`/proc/${e.name}/cmdline`)).replaceAll("\0", " ");
      if (cmd.includes(needle)) out.push(Number(e.name));
    } catch { /* gone */ }
  }
  return out;
}

/** cgroup directories (any hierarchy) whose name contains `needle`. */
export async function cgroupDirsWith(needle: string): Promise<string[]> {
  const r = await new Deno.Command("find", {
    args: ["/sys/fs/cgroup", "-type", "d", "-name", `*${needle}*`],
    stdout: "piped",
    stderr: "null",
  }).output();
  return new TextDecoder().decode(r.stdout).split("\n").filter((l) => l);
}
