/**
 * Test helper: a directory of small stacker files and the CLI run on them as separate processes
 * (each in its own session, so a kill reaches the user-namespace child too), as root or as the
 * unprivileged test user. For the multi-process tests of locks and shared layouts.
 */
import {
  busyboxLayout,
  sourceRootForTestUser,
  testUserArgv,
  testUserIds,
} from "../../scripts/fixtures/mod.ts";
import { type OutputWatch, watchOutput } from "../_helpers/output_watch.ts";

export interface Scene extends AsyncDisposable {
  readonly dir: string;
  readonly asUser: boolean;
  readonly oci: string;
}

export interface Running {
  readonly child: Deno.ChildProcess;
  readonly err: OutputWatch;
  readonly out: OutputWatch;
}

/** `n` stacker files `f<i>/stacker.yaml`, each one layer `c<i>` importing its own file. */
export async function makeScene(n: number, asUser: boolean): Promise<Scene> {
  const bb = await busyboxLayout();
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "stacker-ts-conc-" });
  await Deno.chmod(dir, 0o755);
  for (let i = 0; i < n; i++) {
    await Deno.mkdir(`${dir}/f${i}`);
    await Deno.writeTextFile(`${dir}/f${i}/data`, `build ${i} of ${n}\n`);
    await Deno.writeTextFile(
      `${dir}/f${i}/stacker.yaml`,
      `c${i}:\n  from:\n    type: oci\n    url: ${bb.dir}:${bb.tag}\n  imports:\n    - path: data\n      dest: /data/${i}\n`,
    );
  }
  if (asUser) {
    const ids = await testUserIds();
    await new Deno.Command("chown", { args: ["-R", `${ids.uid}:${ids.gid}`, dir] }).output();
  }
  return {
    dir,
    asUser,
    oci: `${dir}/oci`,
    [Symbol.asyncDispose]: async () => {
      await new Deno.Command("rm", { args: ["-rf", dir] }).output();
    },
  };
}

/** The CLI in its own session (so a kill reaches the user-namespace child too), as root or the user. */
export async function cli(scene: Scene, args: readonly string[]): Promise<Running> {
  const root = scene.asUser ? sourceRootForTestUser() : new URL("../..", import.meta.url).pathname;
  let argv = [Deno.execPath(), "run", "-A", "--cached-only", `${root}/cli.ts`, ...args];
  if (scene.asUser) argv = await testUserArgv(argv);
  const child = new Deno.Command("setsid", { args: argv, cwd: scene.dir, stdout: "piped", stderr: "piped" })
    .spawn();
  return { child, err: watchOutput(child.stderr), out: watchOutput(child.stdout) };
}

export function dirsOf(scene: Scene, name: string): string[] {
  return [
    "--oci-dir",
    scene.oci,
    "--stacker-dir",
    `${scene.dir}/s-${name}`,
    "--roots-dir",
    `${scene.dir}/r-${name}`,
  ];
}

export function buildArgs(scene: Scene, i: number): string[] {
  return [...dirsOf(scene, String(i)), "build", "-f", `${scene.dir}/f${i}/stacker.yaml`];
}
