/**
 * `stacker check`: whether this host can build, one line per requirement ("ok" or "FAIL", with the
 * Debian package or command that fixes it). Exit code 1 when anything fails. It checks the real
 * host, so it never re-executes into a user namespace.
 */
import { runtimeRequirements } from "../runtime/mod.ts";
import { recordedStorageType, storageRequirements } from "../storage/mod.ts";
import { helperNames, helperStatus } from "../util/helpers.ts";
import { CHECK_META } from "./_meta.ts";
import type { CommandDef } from "./types.ts";

export const checkCommand: CommandDef = {
  ...CHECK_META,
  async run(ctx) {
    const reqs = await runtimeRequirements({ env: ctx.env, rootsDir: ctx.global.rootsDir, log: ctx.log });
    for (const r of reqs) ctx.print(`${r.ok ? "ok  " : "FAIL"} ${r.name}: ${r.detail}`);
    // Storage: only the backend this stacker dir uses (or would use) must work; the others are told.
    const selected = ctx.global.storageType ?? await recordedStorageType(ctx.global.stackerDir) ?? "overlay";
    const storage = await storageRequirements(ctx.global.rootsDir);
    ctx.print(`ok   roots dir filesystem: ${storage.filesystem} (${storage.rootsDir})`);
    let ok = reqs.every((r) => r.ok);
    for (const b of storage.backends) {
      const mark = b.type === selected ? (b.ok ? "ok  " : "FAIL") : (b.ok ? "--  " : "--  ");
      if (b.type === selected && !b.ok) ok = false;
      ctx.print(`${mark} storage ${b.type}${b.type === selected ? " (selected)" : ""}: ${b.detail}`);
    }
    // Helpers the compiled executable embeds: where each would come from.
    for (const name of helperNames()) {
      if (name === "busybox") continue; // a runtime requirement, reported above
      const h = await helperStatus(name, { env: ctx.env, log: ctx.log });
      const where = h.origin === "missing"
        ? `missing (optional; Debian package "${h.package}")`
        : `${h.path} (${h.origin})`;
      ctx.print(`${h.origin === "missing" ? "--  " : "ok  "} helper ${name}: ${where}`);
    }
    return ok ? 0 : 1;
  },
};
