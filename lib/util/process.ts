/**
 * Process identity from procfs: a pid plus its start time names one process for good, so a reused
 * pid never passes for the process that is gone (temp-file owners, watched parents).
 */

/** The start time (clock ticks since boot) of `pid`, or undefined when it is gone. */
export function processStartTime(pid: number): string | undefined {
  try {
    // Sync on purpose: a tiny procfs read, called from timers that must not pile up.
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** True when `pid` runs and (if given) started at `start`: the same process, not a reused pid. */
export function processAlive(pid: number, start?: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const now = processStartTime(pid);
  return now !== undefined && (start === undefined || now === start);
}

/** The command line of `pid` with spaces for NULs, or "" when it cannot be read. */
export async function processCmdline(pid: number): Promise<string> {
  try {
    const raw = await Deno.readTextFile(`/proc/${pid}/cmdline`);
    return raw.split("\0").filter((s) => s).join(" ");
  } catch {
    return "";
  }
}
