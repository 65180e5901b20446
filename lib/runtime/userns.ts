/**
 * Unprivileged operation (spec §4): a user without root re-executes this program inside a user
 * namespace where its own uid/gid are 0 and its subordinate ids are 1…65535, so unpack, storage and
 * LXC all run as namespace-root and image files come out owned by root.
 *
 * Deno cannot unshare a user namespace itself (it is multithreaded: unshare(CLONE_NEWUSER) returns
 * EINVAL), so a small tool enters it for us: `lxc-usernsexec` from the Debian package `lxc` (already
 * a dependency of the runtime), which takes any number of ranges and writes them through the setuid
 * `newuidmap`/`newgidmap` (package `uidmap`). util-linux 2.38's `unshare` honours only one
 * `--map-users`, so it cannot express "own uid → 0 plus a subordinate range" (RUNTIME-NOTES.md §6).
 * lxc-usernsexec also gives the child a private mount namespace.
 */
import { distLayout, distUsernsexec } from "../util/dist.ts";
import { StackerError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { silentLogger } from "../util/log.ts";
import { selfCommand } from "./self_command.ts";

/** Env var marking the re-executed child; its value is the caller's real uid. */
export const REAL_UID_ENV = "STACKER_REAL_UID";
/** Env var holding the pid of the process outside the namespace: containers stop when it dies. */
export const OUTER_PID_ENV = "STACKER_OUTER_PID";
/** The hidden global flag the re-executed child carries. */
export const INTERNAL_USERNS_FLAG = "--internal-userns";
/** Ids the namespace maps besides 0: 1…65535. */
export const SUBORDINATE_COUNT = 65535;

export interface NeedsUsernsOptions {
  /** The process environment (read once by cli.ts). */
  readonly env: Readonly<Record<string, string>>;
  /** The `--internal-userns` flag was given. */
  readonly internalUserns?: boolean;
  /** The caller's uid (default `Deno.uid()`, the real uid). */
  readonly uid?: number;
}

/**
 * True when this process must re-execute itself in a user namespace: not root, and not already the
 * re-executed child (`--internal-userns` or `STACKER_REAL_UID` set).
 */
export function needsUserns(opts: NeedsUsernsOptions): boolean {
  if (opts.internalUserns || opts.env[REAL_UID_ENV] !== undefined) return false;
  return (opts.uid ?? Deno.uid()) !== 0;
}

/** One `/etc/subuid` or `/etc/subgid` range. */
export interface SubordinateRange {
  readonly start: number;
  readonly count: number;
}

/**
 * The first range of `user` (by name or by numeric id) in a subuid/subgid file, or undefined when
 * the file or the entry is missing.
 */
export async function subordinateRange(
  file: string,
  user: { readonly name?: string; readonly id: number },
): Promise<SubordinateRange | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  }
  for (const line of text.split("\n")) {
    const [who, start, count] = line.trim().split(":");
    if (count === undefined || !/^\d+$/.test(start) || !/^\d+$/.test(count)) continue;
    if (who === user.name || who === String(user.id)) return { start: Number(start), count: Number(count) };
  }
  return undefined;
}

/** The user name of `uid` from /etc/passwd, if any. */
export async function userName(uid: number, passwd = "/etc/passwd"): Promise<string | undefined> {
  const text = await Deno.readTextFile(passwd).catch(() => "");
  return text.split("\n").map((l) => l.split(":")).find((f) => f[2] === String(uid))?.[0];
}

/** The `lxc-usernsexec -m` arguments: own id → 0, subordinate start+1… → 1…65535. */
export function idMapArgs(
  uid: number,
  gid: number,
  subuid: SubordinateRange,
  subgid: SubordinateRange,
): string[] {
  // start+N for id N keeps host ids equal to the usual LXC map (0 → start), so trees made either
  // way look the same on the host.
  return [
    "-m",
    `u:0:${uid}:1`,
    "-m",
    `u:1:${subuid.start + 1}:${SUBORDINATE_COUNT}`,
    "-m",
    `g:0:${gid}:1`,
    "-m",
    `g:1:${subgid.start + 1}:${SUBORDINATE_COUNT}`,
  ];
}

async function onPath(name: string, path: string | undefined): Promise<string | undefined> {
  for (const dir of (path ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    if (!dir.startsWith("/")) continue;
    try {
      const st = await Deno.stat(`${dir}/${name}`);
      if (st.isFile) return `${dir}/${name}`;
    } catch { /* next */ }
  }
  return undefined;
}

export interface ReexecOptions {
  /** The process environment; passed on to the child plus `STACKER_REAL_UID`. */
  readonly env: Readonly<Record<string, string>>;
  readonly log?: Logger;
  /** argv prefix that starts this program (default `selfCommand()`). */
  readonly command?: readonly string[];
  /** Default `Deno.uid()` / `Deno.gid()`. */
  readonly uid?: number;
  readonly gid?: number;
  /** Default /etc/subuid, /etc/subgid. */
  readonly subuidFile?: string;
  readonly subgidFile?: string;
}

/** argv prefix of `lxc-usernsexec`: the dist file's own copy, else the host's on PATH. */
export function usernsexecCommand(): string[] {
  const dist = distLayout();
  return dist ? distUsernsexec(dist) : ["lxc-usernsexec"];
}

/** What is missing for unprivileged operation, as StackerErrors (empty when everything is there). */
export async function usernsProblems(opts: ReexecOptions): Promise<StackerError[]> {
  const uid = opts.uid ?? Deno.uid() ?? 0;
  const gid = opts.gid ?? Deno.gid() ?? 0;
  const name = await userName(uid);
  const problems: StackerError[] = [];
  for (const tool of ["newuidmap", "newgidmap"]) {
    if (!(await onPath(tool, opts.env.PATH))) {
      problems.push(
        new StackerError(
          `Cannot enter a user namespace: "${tool}" is missing (install the Debian package "uidmap")`,
          {
            code: "userns.no-newuidmap",
            context: { tool, package: "uidmap" },
          },
        ),
      );
    }
  }
  if (!distLayout() && !(await onPath("lxc-usernsexec", opts.env.PATH))) {
    problems.push(
      new StackerError(
        'Cannot enter a user namespace: "lxc-usernsexec" is missing (install the Debian package "lxc")',
        {
          code: "userns.no-usernsexec",
          context: { tool: "lxc-usernsexec", package: "lxc" },
        },
      ),
    );
  }
  for (
    const [file, id, kind] of [[opts.subuidFile ?? "/etc/subuid", uid, "uid"], [
      opts.subgidFile ?? "/etc/subgid",
      gid,
      "gid",
    ]] as const
  ) {
    const r = await subordinateRange(file, {
      name: kind === "uid" ? name : (await groupName(gid)) ?? name,
      id,
    });
    if (!r || r.count < SUBORDINATE_COUNT + 1) {
      problems.push(
        new StackerError(
          `Cannot enter a user namespace: ${r ? "the range" : "no range"} for ${kind} ${id}${
            name ? ` ("${name}")` : ""
          } in "${file}"${
            r ? ` has ${r.count} ids, ${SUBORDINATE_COUNT + 1} are needed` : ""
          } (run "sudo stacker unpriv-setup")`,
          { code: "userns.no-subids", context: { file, id, kind } },
        ),
      );
    }
  }
  return problems;
}

async function groupName(gid: number): Promise<string | undefined> {
  const text = await Deno.readTextFile("/etc/group").catch(() => "");
  return text.split("\n").map((l) => l.split(":")).find((f) => f[2] === String(gid))?.[0];
}

/**
 * Runs this program again with `argv` inside a new user namespace (own uid/gid → 0, subordinate
 * ids → 1…65535) and resolves to its exit code (128+n when a signal killed it). stdio is shared.
 * Throws StackerError naming the missing Debian package or `unpriv-setup` when it cannot.
 */
export async function reexecInUserns(argv: readonly string[], opts: ReexecOptions): Promise<number> {
  const log = opts.log ?? silentLogger;
  const problems = await usernsProblems(opts);
  if (problems.length > 0) throw problems[0];
  const uid = opts.uid ?? Deno.uid() ?? 0;
  const gid = opts.gid ?? Deno.gid() ?? 0;
  const name = await userName(uid);
  const subuid = (await subordinateRange(opts.subuidFile ?? "/etc/subuid", { name, id: uid }))!;
  const subgid = (await subordinateRange(opts.subgidFile ?? "/etc/subgid", {
    name: (await groupName(gid)) ?? name,
    id: gid,
  }))!;
  const self = opts.command ?? selfCommand();
  const args = [...idMapArgs(uid, gid, subuid, subgid), "--", ...self, INTERNAL_USERNS_FLAG, ...argv];
  log.debug("Re-executing in a user namespace", { argv: args.join(" ") });
  const [usernsexec, ...prefix] = usernsexecCommand();
  const child = new Deno.Command(usernsexec, {
    args: [...prefix, ...args],
    env: { ...opts.env, [REAL_UID_ENV]: String(uid), [OUTER_PID_ENV]: String(Deno.pid) },
    clearEnv: true,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
  // The child shares the terminal: ^C reaches it directly; here it must not kill the parent first.
  const ignore = () => {};
  const forward = (sig: Deno.Signal) => () => {
    try {
      child.kill(sig);
    } catch { /* gone */ }
  };
  const handlers: [Deno.Signal, () => void][] = [["SIGINT", ignore], ["SIGTERM", forward("SIGTERM")], [
    "SIGHUP",
    forward("SIGHUP"),
  ]];
  for (const [s, h] of handlers) Deno.addSignalListener(s, h);
  try {
    const st = await child.status;
    if (st.signal) return 128 + (Deno.build.os === "linux" ? signalNumber(st.signal) : 0);
    return st.code;
  } finally {
    for (const [s, h] of handlers) Deno.removeSignalListener(s, h);
  }
}

const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGABRT: 6,
  SIGKILL: 9,
  SIGSEGV: 11,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
};
function signalNumber(sig: Deno.Signal): number {
  return SIGNALS[sig] ?? 0;
}

/**
 * Refuses a stacker dir that another uid used before (spec §2.1): when `<stackerDir>/build.cache`
 * exists and is owned by someone other than `uid`, throws StackerError "previous run of stacker
 * found with uid N". Only the cache file counts, as in stacker: a `.lock` another user left (root's
 * `touch`, a root `grab`) does not block a user who owns the rest; the lock is taken through a
 * read-only fd then. Call it before re-executing, with the real uid.
 */
export async function checkStackerDirOwner(stackerDir: string, uid: number): Promise<void> {
  let st: Deno.FileInfo;
  try {
    st = await Deno.lstat(`${stackerDir}/build.cache`);
  } catch {
    return;
  }
  if (st.uid !== null && st.uid !== uid) {
    throw new StackerError(
      `previous run of stacker found with uid ${st.uid}: "${stackerDir}" was used by another user (remove it or use another --stacker-dir)`,
      { code: "userns.owner-mismatch", context: { stackerDir, owner: st.uid, uid } },
    );
  }
}
