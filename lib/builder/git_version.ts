/**
 * The `git_version` annotation (spec §1.8): `git describe --tags` of the work tree holding the
 * stacker file, falling back to the commit hash, with `-dirty` when tracked files changed.
 *
 * The repository is someone else's input. git runs with the commands a repository can configure
 * switched off (`core.fsmonitor`, hooks, the system config), never with `safe.directory`
 * overridden, and as real root it runs as the owner of the directory (what remains configurable,
 * such as clean filters, then runs with no more rights than that user already has). A repository
 * git refuses (owned by someone else) gives no annotation and a warning, not an error.
 */
import { isRealRoot } from "../util/identity.ts";

export interface GitVersionOptions {
  /** Told why git refused the repository (once per call at most). */
  readonly onRefused?: (message: string) => void;
  /** The caller's environment (PATH, HOME, XDG_CONFIG_HOME for the user's own git config). */
  readonly env?: Readonly<Record<string, string>>;
}

/** The hardening every git call gets: no fsmonitor command, no hooks. */
const SAFE_CONFIG = ["-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null"];

interface GitCall {
  readonly ok: boolean;
  readonly out: string;
  readonly refused?: string;
}

type GitRunner = (args: readonly string[]) => Promise<GitCall>;

async function primaryGid(uid: number): Promise<number> {
  const text = await Deno.readTextFile("/etc/passwd").catch(() => "");
  const f = text.split("\n").map((l) => l.split(":")).find((x) => x[2] === String(uid));
  return f && /^\d+$/.test(f[3]) ? Number(f[3]) : 65534;
}

/** How git is started for `dir`: as ourselves, or (real root, a directory root does not own) as its owner. */
async function runnerFor(dir: string, env: Readonly<Record<string, string>>): Promise<GitRunner> {
  const gitEnv: Record<string, string> = {
    PATH: env.PATH ?? "/usr/local/bin:/usr/bin:/bin",
    LC_ALL: "C",
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_TERMINAL_PROMPT: "0",
    GIT_OPTIONAL_LOCKS: "0",
  };
  let prefix: string[] = [];
  const owner = (await Deno.stat(dir)).uid ?? 0;
  if (owner !== 0 && await isRealRoot()) {
    // The user's own global config stays out too: root's HOME is not theirs.
    gitEnv.GIT_CONFIG_GLOBAL = "/dev/null";
    prefix = ["setpriv", `--reuid=${owner}`, `--regid=${await primaryGid(owner)}`, "--clear-groups", "--"];
  } else {
    for (const k of ["HOME", "XDG_CONFIG_HOME"]) if (env[k] !== undefined) gitEnv[k] = env[k];
  }
  return async (args) => {
    const argv = [...prefix, "git", ...SAFE_CONFIG, "-C", dir, ...args];
    try {
      const r = await new Deno.Command(argv[0], {
        args: argv.slice(1),
        env: gitEnv,
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
        stdin: "null",
      }).output();
      const err = new TextDecoder().decode(r.stderr);
      const refused = /dubious ownership/.test(err) ? err.trim().split("\n")[0] : undefined;
      return { ok: r.success, out: new TextDecoder().decode(r.stdout).trim(), refused };
    } catch {
      return { ok: false, out: "" };
    }
  };
}

/**
 * The git version of the work tree holding `dir`; undefined when `dir` is not in a git work tree,
 * the repository has no commit, git is missing, or git refused the repository (`onRefused`).
 */
export async function gitVersion(dir: string, opts: GitVersionOptions = {}): Promise<string | undefined> {
  let git: GitRunner;
  try {
    git = await runnerFor(dir, opts.env ?? {});
  } catch {
    return undefined;
  }
  const inside = await git(["rev-parse", "--is-inside-work-tree"]);
  if (inside.refused) {
    opts.onRefused?.(
      `No git_version annotation for "${dir}": git refused the repository (${
        inside.refused.replace(/^fatal: /, "")
      })`,
    );
    return undefined;
  }
  if (!inside.ok || inside.out !== "true") return undefined;
  let version = (await git(["describe", "--tags"])).out;
  if (!version) {
    const head = await git(["rev-parse", "HEAD"]);
    if (!head.ok || !head.out) return undefined;
    version = head.out;
  }
  const status = await git(["status", "--porcelain", "--untracked-files=no"]);
  return status.ok && status.out !== "" ? `${version}-dirty` : version;
}
