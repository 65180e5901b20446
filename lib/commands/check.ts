/**
 * `stacker check`: whether this host can build, one line per requirement ("ok" or "FAIL", with the
 * Debian package or command that fixes it). Exit code 1 when anything fails. It checks the real
 * host, so it never re-executes into a user namespace.
 */
import { runtimeRequirements } from "../runtime/mod.ts";
import type { CommandDef } from "./types.ts";

export const checkCommand: CommandDef = {
  name: "check",
  summary: "check that this host can build images",
  flags: [],
  noUserns: true,
  async run(ctx) {
    const reqs = await runtimeRequirements({ env: ctx.env, rootsDir: ctx.global.rootsDir, log: ctx.log });
    // The storage backend's own checks (overlay with userxattr, whiteouts, btrfs) join here once
    // lib/storage exports storageRequirements(rootsDir).
    for (const r of reqs) ctx.print(`${r.ok ? "ok  " : "FAIL"} ${r.name}: ${r.detail}`);
    return reqs.every((r) => r.ok) ? 0 : 1;
  },
};
