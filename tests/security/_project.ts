/**
 * Shared set-up of the security tests: a project directory owned by the user a build runs as (root
 * or the unprivileged test user), and the CLI run as that user in a separate process.
 */
import { runAsTestUser, sourceRootForTestUser, testUserIds } from "../../scripts/fixtures/mod.ts";

export type Who = "root" | "builder";

/** Both users when the suite runs as root (the test user is started from root), else none. */
export const WHO: readonly Who[] = Deno.uid() === 0 ? ["root", "builder"] : [];

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A fresh directory under /var/tmp owned by `who` (`path`), removed when disposed. */
export async function projectDir(who: Who, prefix: string): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ dir: "/var/tmp", prefix: `stacker-ts-sec-${prefix}-` });
  await Deno.chmod(path, 0o755);
  if (who === "builder") await chownTree(path, who);
  return {
    path,
    [Symbol.asyncDispose]: async () => {
      await new Deno.Command("rm", { args: ["-rf", "--one-file-system", path] }).output();
    },
  };
}

/** Hands `path` (recursively, links not followed) to `who`. */
export async function chownTree(path: string, who: Who): Promise<void> {
  const owner = who === "root" ? "0:0" : await builderOwner();
  const r = await new Deno.Command("chown", { args: ["-R", "-h", owner, path] }).output();
  if (!r.success) throw new Error(`chown ${path} failed`);
}

async function builderOwner(): Promise<string> {
  const ids = await testUserIds();
  return `${ids.uid}:${ids.gid}`;
}

/** `stacker args…` in `cwd` as `who` (plus `env`), as a process; never throws for a non-zero exit. */
export async function stackerAs(
  who: Who,
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<CliResult> {
  if (who === "builder") {
    return await runAsTestUser([Deno.execPath(), "run", "-A", `${sourceRootForTestUser()}/cli.ts`, ...args], {
      cwd,
      env,
    });
  }
  const cli = new URL("../../cli.ts", import.meta.url).pathname;
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    cwd,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

/** Runs a host tool and throws with its stderr when it fails. */
export async function sh(cmd: string, args: readonly string[], cwd?: string): Promise<string> {
  const r = await new Deno.Command(cmd, { args: [...args], cwd, stdout: "piped", stderr: "piped" }).output();
  const dec = new TextDecoder();
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")}: ${dec.decode(r.stderr)}`);
  return dec.decode(r.stdout);
}
