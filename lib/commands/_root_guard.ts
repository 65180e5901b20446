/**
 * Real root in directories another user controls (the stacker, roots and OCI dirs of a user's
 * project): whatever root would do there by path, the user could redirect with a symlink planted
 * at the right moment. So root does not work there as root: `clean` drops to that user (after what
 * only root can undo), every other command refuses and says whose directory it is.
 */
import { type Controller, controllerOf } from "../storage/trusted_dirs.ts";
import { StackerError } from "../util/errors.ts";
import type { GlobalOptions } from "./types.ts";

/**
 * The first controller of the stacker, roots and OCI dirs other than root, when this process runs
 * as uid 0 outside our own user namespace (inside it, the checks were made before entering).
 */
export function foreignController(g: GlobalOptions): Controller | undefined {
  if (Deno.uid() !== 0 || g.internalUserns) return undefined;
  for (const dir of [g.stackerDir, g.rootsDir, g.ociDir]) {
    const c = controllerOf(dir);
    if (c) return c;
  }
  return undefined;
}

function whose(c: Controller): string {
  return c.uid < 0 ? `"${c.path}" is writable by other users` : `"${c.path}" belongs to uid ${c.uid}`;
}

/** Throws StackerError `root.foreign-dir` when real root would work in a directory someone else controls. */
export function refuseForeignDirs(command: string, g: GlobalOptions): void {
  const c = foreignController(g);
  if (!c) return;
  throw new StackerError(
    `Cannot run "${command}" as root here: ${
      whose(c)
    }, who could redirect root's writes with a symlink (run stacker as that user, or give --stacker-dir/--roots-dir/--oci-dir only root can change)`,
    { code: "root.foreign-dir", context: { command, path: c.path, owner: c.uid } },
  );
}

async function passwdEntry(uid: number): Promise<{ name: string; gid: number; home: string } | undefined> {
  const text = await Deno.readTextFile("/etc/passwd").catch(() => "");
  const f = text.split("\n").map((l) => l.split(":")).find((x) => x[2] === String(uid));
  return f ? { name: f[0], gid: Number(f[3]), home: f[5] } : undefined;
}

/**
 * Runs this program again with `argv` as `c.uid` (setpriv; HOME and USER of that user) and resolves
 * to its exit code. Throws `root.foreign-dir` when the directory is not one user's.
 */
export async function rerunAsOwner(
  c: Controller,
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
  self: readonly string[],
): Promise<number> {
  const user = c.uid >= 0 ? await passwdEntry(c.uid) : undefined;
  if (!user) {
    throw new StackerError(`Cannot work as root here: ${whose(c)}, and no single user owns it`, {
      code: "root.foreign-dir",
      context: { path: c.path, owner: c.uid },
    });
  }
  const childEnv: Record<string, string> = { ...env, HOME: user.home, USER: user.name, LOGNAME: user.name };
  for (const k of ["SUDO_UID", "SUDO_GID", "SUDO_USER", "XDG_RUNTIME_DIR", "XDG_CONFIG_HOME"]) {
    delete childEnv[k];
  }
  const r = await new Deno.Command("setpriv", {
    args: [`--reuid=${c.uid}`, `--regid=${user.gid}`, "--init-groups", "--", ...self, ...argv],
    env: childEnv,
    clearEnv: true,
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  return r.code;
}
