/**
 * What this host needs to run builds, checked one by one for `stacker check`: liblxc, the user
 * namespace tools and ranges, a static busybox for the idle init, and the roots dir's filesystem.
 * Each result says what is missing and which Debian package provides it.
 */
import { lxcVersion } from "../ffi/liblxc.ts";
import { lgetxattr } from "../ffi/libc.ts";
import { distLayout } from "../util/dist.ts";
import { helperStatus } from "../util/helpers.ts";
import type { Logger } from "../util/log.ts";
import { silentLogger } from "../util/log.ts";
import { SUBORDINATE_COUNT, subordinateRange, userName } from "./userns.ts";

export interface Requirement {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface RequirementsOptions {
  readonly env: Readonly<Record<string, string>>;
  readonly rootsDir: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly subuidFile?: string;
  readonly subgidFile?: string;
  readonly log?: Logger;
}

async function which(name: string, path: string | undefined): Promise<string | undefined> {
  for (const dir of (path ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":")) {
    if (!dir.startsWith("/")) continue;
    try {
      if ((await Deno.stat(`${dir}/${name}`)).isFile) return `${dir}/${name}`;
    } catch { /* next */ }
  }
  return undefined;
}

/** Whether `path` is setuid root or carries file capabilities (what newuidmap needs to work). */
export async function isPrivilegedHelper(path: string): Promise<"setuid" | "caps" | undefined> {
  const st = await Deno.stat(path);
  if (st.uid === 0 && ((st.mode ?? 0) & 0o4000) !== 0) return "setuid";
  try {
    if (lgetxattr(path, "security.capability")) return "caps";
  } catch { /* no xattrs here */ }
  return undefined;
}

/** The filesystem type of `path` (of its nearest existing parent), as `stat -f` names it. */
async function fsType(path: string): Promise<{ dir: string; type: string }> {
  let dir = path;
  while (dir !== "/") {
    try {
      await Deno.lstat(dir);
      break;
    } catch {
      dir = dir.slice(0, dir.lastIndexOf("/")) || "/";
    }
  }
  const out = await new Deno.Command("stat", {
    args: ["-f", "-c", "%T", dir],
    stdout: "piped",
    stderr: "null",
  })
    .output();
  return { dir, type: new TextDecoder().decode(out.stdout).trim() || "unknown" };
}

/** Every runtime requirement of this host, in a stable order. Never throws for a missing piece. */
export async function runtimeRequirements(opts: RequirementsOptions): Promise<Requirement[]> {
  const log = opts.log ?? silentLogger;
  const out: Requirement[] = [];
  out.push({ name: "kernel", ok: true, detail: Deno.osRelease() });
  try {
    out.push({ name: "liblxc", ok: true, detail: lxcVersion() });
  } catch (err) {
    out.push({ name: "liblxc", ok: false, detail: `${(err as Error).message}` });
  }
  const dist = distLayout();
  const usernsexec = dist
    ? `${dist.bin}/lxc-usernsexec (dist)`
    : await which("lxc-usernsexec", opts.env.PATH);
  out.push({
    name: "lxc-usernsexec",
    ok: usernsexec !== undefined,
    detail: usernsexec ?? 'missing (install the Debian package "lxc")',
  });
  for (const tool of ["newuidmap", "newgidmap"]) {
    const p = await which(tool, opts.env.PATH);
    if (!p) {
      out.push({ name: tool, ok: false, detail: 'missing (install the Debian package "uidmap")' });
      continue;
    }
    const how = await isPrivilegedHelper(p);
    out.push({
      name: tool,
      ok: how !== undefined,
      detail: how ? `${p} (${how})` : `${p} is neither setuid root nor has file capabilities`,
    });
  }
  const uid = opts.uid ?? Deno.uid() ?? 0;
  const gid = opts.gid ?? Deno.gid() ?? 0;
  const user = await userName(uid);
  for (
    const [kind, file, id] of [["subuid", opts.subuidFile ?? "/etc/subuid", uid], [
      "subgid",
      opts.subgidFile ?? "/etc/subgid",
      gid,
    ]] as const
  ) {
    const r = await subordinateRange(file, { name: user, id });
    const enough = r !== undefined && r.count >= SUBORDINATE_COUNT + 1;
    out.push({
      name: kind,
      // Root runs privileged containers and needs no range.
      ok: enough || uid === 0,
      detail: r
        ? `${r.start}:${r.count}${enough ? "" : ` (${SUBORDINATE_COUNT + 1} ids needed)`}`
        : uid === 0
        ? "none (not needed as root)"
        : `no range for ${user ?? id} in ${file} (run "sudo stacker unpriv-setup")`,
    });
  }
  const bb = await helperStatus("busybox", { log, env: opts.env });
  out.push({
    name: "busybox (static)",
    ok: bb.origin !== "missing",
    detail: bb.origin === "missing"
      ? `missing (install the Debian package "${bb.package ?? "busybox-static"}")${
        bb.note ? `: ${bb.note}` : ""
      }`
      : `${bb.path} (${bb.origin})`,
  });
  const fs = await fsType(opts.rootsDir);
  let symlink = false;
  try {
    symlink = (await Deno.lstat(opts.rootsDir)).isSymlink;
  } catch { /* not created yet */ }
  const badFs = ["nfs", "nfs4", "overlayfs"].includes(fs.type);
  out.push({
    name: "roots dir",
    ok: !badFs && !symlink,
    detail: `${opts.rootsDir} on ${fs.type}${symlink ? " (reached through a symlink: not supported)" : ""}${
      badFs ? " (not supported)" : ""
    }`,
  });
  return out;
}
