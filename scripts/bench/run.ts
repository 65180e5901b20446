/**
 * The run step's overhead: container start, `/bin/true`, teardown, ten times in a row, as root and as
 * the unprivileged test user (inside its user namespace), beside `lxc-execute` with the same config
 * (privileged as root; no idmap as namespace-root, as stacker runs it) ten times in a shell loop.
 * Both sides pay one process start-up (and one user-namespace entry); divide by ten for a step.
 * Run directly (`deno run -A scripts/bench/run.ts steps N ROOTFS BASE`), it is the "ours" side.
 */
import type { Benchmark } from "./_types.ts";

const self = new URL(import.meta.url).pathname;
const root = new URL("../..", import.meta.url).pathname;
const STEPS = 10;

if (import.meta.main && Deno.args.filter((a) => a !== "--internal-userns")[0] === "steps") {
  const { needsUserns, reexecInUserns, runInContainer, uniqueContainerName } = await import(
    "../../lib/runtime/mod.ts"
  );
  const env = Deno.env.toObject();
  const internal = Deno.args.includes("--internal-userns");
  const args = Deno.args.filter((a) => a !== "--internal-userns");
  const deno = [Deno.execPath(), "run", "-A", "--cached-only"];
  if (needsUserns({ env, internalUserns: internal })) {
    Deno.exit(await reexecInUserns(args, { env, command: [...deno, self] }));
  }
  const [, n, rootfs, base] = args;
  for (let i = 0; i < Number(n); i++) {
    const r = await runInContainer({
      name: uniqueContainerName("bench"),
      lxcRootfs: { path: `dir:${rootfs}` },
      argv: ["/bin/true"],
      env: { PATH: "/bin" },
      binds: [],
      logFile: `${base}/lxc.log`,
      lxcPath: `${base}/lxc`,
      busybox: "/bin/busybox",
    }, { helper: [...deno, `${root}cli.ts`, "internal-run"] }); // the helper a build starts
    if (r.exitCode !== 0) throw new Error(`/bin/true exited ${r.exitCode}`);
  }
}

function lxcConfig(rootfs: string, asRoot: boolean): string {
  return [
    "lxc.uts.name = stacker",
    `lxc.rootfs.path = dir:${rootfs}`,
    "lxc.net.0.type = none",
    "lxc.autodev = 1",
    "lxc.mount.auto = proc:mixed",
    "lxc.mount.entry = /sys sys none rbind,create=dir 0 0",
    "lxc.mount.entry = /etc/resolv.conf etc/resolv.conf none bind,ro,optional 0 0",
    "lxc.apparmor.profile = unconfined",
    "lxc.apparmor.allow_incomplete = 1",
    ...(asRoot ? ["lxc.cgroup.relative = 1"] : []),
    "",
  ].join("\n");
}

const bench: Benchmark = {
  name: "run",
  describe:
    `${STEPS} run steps of /bin/true (start, run, teardown) as root and as the test user, beside lxc-execute`,
  async setup() {
    // the fixtures are loaded here, not at the top: this file is also the timed "ours" command
    const { makeBusyboxRootfs, testUserIds } = await import("../fixtures/mod.ts");
    const work = await Deno.makeTempDir({ dir: "/tmp", prefix: "bench-run-" });
    await Deno.chmod(work, 0o755);
    const ids = await testUserIds();
    const deno = [Deno.execPath(), "run", "-A", "--cached-only", self, "steps", String(STEPS)];
    const cases = [];
    for (const mode of ["root", "user"] as const) {
      const base = `${work}/${mode}`;
      await Deno.mkdir(base);
      await makeBusyboxRootfs(`${base}/rootfs`);
      await Deno.writeTextFile(`${base}/lxc.conf`, lxcConfig(`${base}/rootfs`, mode === "root"));
      await Deno.mkdir(`${base}/lxc-ref`);
      await Deno.mkdir(`${base}/xdg`);
      const loop =
        `for i in $(seq ${STEPS}); do lxc-execute -n ref-$$-$i -P "$1" -f "$2" -o "$3" -- /bin/true || exit 1; done`;
      const refArgs = ["sh", "-c", loop, "sh", `${base}/lxc-ref`, `${base}/lxc.conf`, `${base}/ref.log`];
      const asUser = (argv: string[]) => [
        "setpriv",
        `--reuid=${ids.uid}`,
        `--regid=${ids.gid}`,
        "--init-groups",
        "--",
        "env",
        "-i",
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        `DENO_DIR=${Deno.env.get("DENO_DIR") ?? "/var/cache/stacker-ts/deno"}`,
        `XDG_RUNTIME_DIR=${base}/xdg`,
        ...argv,
      ];
      if (mode === "user") {
        const map = [
          "-m",
          `u:0:${ids.uid}:1`,
          "-m",
          "u:1:100001:65535",
          "-m",
          `g:0:${ids.gid}:1`,
          "-m",
          "g:1:100001:65535",
        ];
        const chown = await new Deno.Command("chown", { args: ["-R", "-h", `${ids.uid}:${ids.gid}`, base] })
          .output();
        if (!chown.success) throw new Error("chown failed");
        cases.push({
          label: `user: ${STEPS} × /bin/true`,
          ours: { argv: asUser([...deno, `${base}/rootfs`, base]) },
          reference: { argv: asUser(["lxc-usernsexec", ...map, "--", ...refArgs]) },
          referenceName: "lxc-usernsexec + lxc-execute",
        });
      } else {
        cases.push({
          label: `root: ${STEPS} × /bin/true`,
          ours: { argv: [...deno, `${base}/rootfs`, base] },
          reference: { argv: refArgs },
          referenceName: "lxc-execute",
        });
      }
    }
    return { cases, cleanup: () => Deno.remove(work, { recursive: true }) };
  },
};
export default bench;
