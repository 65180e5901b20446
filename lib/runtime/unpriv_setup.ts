/**
 * `unpriv-setup` (spec §4), as root: give a user subordinate uid/gid ranges, so that it can build
 * without sudo (its stacker and roots dirs come from storage's `setupUserDirs`).
 */
import type { Logger } from "../util/log.ts";
import { silentLogger } from "../util/log.ts";

/** Ids per added range: the namespace maps 0 plus 1…65535. */
export const RANGE_SIZE = 65536;
const MIN_START = 100000;

/**
 * Where a new range of `RANGE_SIZE` starts in a subuid/subgid file's `text`: after the highest
 * existing range (at least 100000), moved past `ownId` when it would contain it.
 */
export function nextSubordinateStart(text: string, ownId: number): number {
  let start = MIN_START;
  for (const line of text.split("\n")) {
    const [, s, c] = line.trim().split(":");
    if (c === undefined || !/^\d+$/.test(s) || !/^\d+$/.test(c)) continue;
    start = Math.max(start, Number(s) + Number(c));
  }
  while (ownId >= start && ownId < start + RANGE_SIZE) start += RANGE_SIZE;
  return start;
}

/**
 * Adds `user:<start>:65536` to `file` unless `user` (by name or uid) already has a range; the file
 * is replaced atomically (temp file + rename). Returns the line added, or undefined.
 */
export async function addSubordinateRange(
  file: string,
  user: string,
  id: number,
): Promise<string | undefined> {
  let text = "";
  let mode = 0o644;
  try {
    text = await Deno.readTextFile(file);
    mode = (await Deno.stat(file)).mode! & 0o777;
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const has = text.split("\n").some((l) => {
    const who = l.trim().split(":")[0];
    return who === user || who === String(id);
  });
  if (has) return undefined;
  const line = `${user}:${nextSubordinateStart(text, id)}:${RANGE_SIZE}`;
  const next = (text === "" || text.endsWith("\n") ? text : text + "\n") + line + "\n";
  const tmp = `${file}.stacker-${Deno.pid}`;
  try {
    await Deno.writeTextFile(tmp, next, { mode });
    await Deno.chmod(tmp, mode);
    await Deno.rename(tmp, file);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  return line;
}

export interface UnprivSetupOptions {
  readonly username: string;
  readonly uid: number;
  readonly gid: number;
  /** Default /etc/subuid and /etc/subgid. */
  readonly subuidFile?: string;
  readonly subgidFile?: string;
  /** PATH to look for newuidmap/newgidmap on (a warning when missing). */
  readonly path?: string;
  readonly log?: Logger;
}

/**
 * The user namespace half of `unpriv-setup`: adds the user's subordinate ranges (a warning when
 * newuidmap/newgidmap are missing). The stacker and roots dirs are storage's (`setupUserDirs`).
 * Must run as root (the caller checks).
 */
export async function unprivSetup(opts: UnprivSetupOptions): Promise<void> {
  const log = opts.log ?? silentLogger;
  for (const tool of ["newuidmap", "newgidmap"]) {
    const found = (opts.path ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":").some((d) => {
      try {
        return Deno.statSync(`${d}/${tool}`).isFile;
      } catch {
        return false;
      }
    });
    if (!found) log.warn(`"${tool}" is missing: install the Debian package "uidmap"`);
  }
  for (
    const [file, id] of [[opts.subuidFile ?? "/etc/subuid", opts.uid], [
      opts.subgidFile ?? "/etc/subgid",
      opts.gid,
    ]] as const
  ) {
    const added = await addSubordinateRange(file, opts.username, id);
    if (added) log.info(`added "${added}" to ${file}`);
    else log.info(`${opts.username} already has a range in ${file}`);
  }
}
