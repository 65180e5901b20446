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

/**
 * Whether the roots dir is reached through a symlink anywhere along its path (stacker refuses it:
 * mounts and the symlink checks of the layer code see a different path than the one configured).
 * The dir may not exist yet: its nearest existing ancestor is what is resolved.
 */
export async function rootsDirPathRequirement(
  rootsDir: string,
): Promise<{ name: string; ok: boolean; detail: string }> {
  let at = rootsDir;
  let rest = "";
  for (;;) {
    try {
      await Deno.lstat(at);
      break;
    } catch {
      const cut = at.lastIndexOf("/");
      if (cut <= 0) {
        at = "/";
        rest = rootsDir.slice(1);
        break;
      }
      rest = at.slice(cut + 1) + (rest ? "/" + rest : "");
      at = at.slice(0, cut);
    }
  }
  const real = await Deno.realPath(at).catch(() => at);
  const resolved = rest ? `${real === "/" ? "" : real}/${rest}` : real;
  return resolved === rootsDir ? { name: "roots dir path", ok: true, detail: "no symbolic links" } : {
    name: "roots dir path",
    ok: false,
    detail: `${rootsDir}: roots dir (--roots-dir) path uses symbolic links, use "${resolved}" instead`,
  };
}

export const checkCommand: CommandDef = {
  ...CHECK_META,
  async run(ctx) {
    const reqs = await runtimeRequirements({ env: ctx.env, rootsDir: ctx.global.rootsDir, log: ctx.log });
    reqs.push(await rootsDirPathRequirement(ctx.global.rootsDir));
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
