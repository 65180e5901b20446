/** A CommandContext for the runtime's commands (check, unpriv-setup, chroot, internal-run). */
import type { CommandContext, FlagValues } from "../../lib/commands/types.ts";
import { silentLogger } from "../../lib/util/log.ts";

export function runtimeCtx(
  opts: { args?: string[]; flags?: FlagValues; env?: Record<string, string>; dir: string },
): CommandContext & { lines: string[] } {
  const lines: string[] = [];
  return {
    global: {
      ociDir: `${opts.dir}/oci`,
      stackerDir: `${opts.dir}/.stacker`,
      rootsDir: `${opts.dir}/roots`,
      debug: false,
      quiet: false,
      progress: false,
      internalUserns: false,
    },
    flags: opts.flags ?? {},
    args: opts.args ?? [],
    log: silentLogger,
    signal: new AbortController().signal,
    env: opts.env ?? { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root" },
    argv: opts.args ?? [],
    print: (l) => lines.push(l),
    lines,
  };
}
