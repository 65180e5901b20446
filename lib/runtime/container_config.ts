/**
 * The LXC config of one run, as (key, value) pairs handed to `set_config_item` one by one (no text
 * config is ever parsed, so a value cannot smuggle a config line), and the checks on a `RunSpec`
 * that make every value safe to hand over: env names and values without NUL or newline, mount paths
 * without whitespace (LXC's mount entries are fstab lines), container-side paths absolute and
 * free of "..".
 */
import { RuntimeError } from "../util/errors.ts";
import type { BindMount, RunSpec } from "./types.ts";

/** Where the idle init and the lifeline sit inside the container: autodev's tmpfs, never the rootfs. */
export const IDLE_BUSYBOX = "/dev/.stacker/busybox";
export const LIFELINE = "/dev/.stacker/lifeline";
/** The idle process LXC's init runs: it ends when the helper (the only writer of the FIFO) dies. */
export const IDLE_ARGV: readonly string[] = [IDLE_BUSYBOX, "cat", LIFELINE];

/** Host-side paths the helper prepared for one run. */
export interface HostPaths {
  /** Static busybox on the host. */
  readonly busybox: string;
  /** The lifeline FIFO on the host. */
  readonly lifeline: string;
  /** An empty host dir (with mount points) bound read-only at /stacker, unless legacy imports are. */
  readonly stackerView: string;
  /** Real root in the initial user namespace: cgroups are ours to manage. */
  readonly realRoot: boolean;
  /**
   * An empty host dir for `lxc.rootfs.mount`; unset keeps liblxc's compiled-in default, which a host
   * without the lxc package (a dist file's liblxc) does not have.
   */
  readonly rootfsMount?: string;
}

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;
const ENV_NAME_RE = /^[^=\0\n]+$/;

function bad(message: string, context: Record<string, string>): never {
  throw new RuntimeError(message, { code: "runtime.bad-spec", context });
}

function checkHostPath(what: string, p: string): void {
  if (!p.startsWith("/")) bad(`Cannot use ${what} "${p}": it is not an absolute path`, { path: p });
  if (/[\s\0\\]/.test(p)) {
    bad(`Cannot use ${what} "${p}": LXC mount entries cannot hold whitespace or backslashes`, { path: p });
  }
}

/** `dest` as a path relative to the rootfs ("/a/b" → "a/b"); refuses "..", "." and relative paths. */
export function containerRelative(dest: string): string {
  if (!dest.startsWith("/")) bad(`Cannot mount at "${dest}": the path is not absolute`, { dest });
  if (/[\s\0\\]/.test(dest)) bad(`Cannot mount at "${dest}": the path holds whitespace`, { dest });
  const parts = dest.split("/").filter((p) => p !== "");
  if (parts.some((p) => p === ".." || p === ".")) {
    bad(`Cannot mount at "${dest}": "." and ".." are not allowed`, { dest });
  }
  if (parts.length === 0) bad(`Cannot mount at "/": that is the rootfs`, { dest });
  return parts.join("/");
}

/**
 * Throws RuntimeError (`runtime.bad-spec`) unless every value of `spec` can be handed to LXC as it
 * is: the container name, env names/values (no NUL, no newline, no "=" in names), paths.
 */
export function validateRunSpec(spec: RunSpec): void {
  if (!NAME_RE.test(spec.name)) bad(`Cannot use container name "${spec.name}"`, { name: spec.name });
  if (spec.argv.length === 0) bad("Cannot run an empty command", { name: spec.name });
  for (const a of spec.argv) if (a.includes("\0")) bad(`Cannot run argument "${a}": it holds a NUL byte`, {});
  for (const [k, v] of Object.entries(spec.env)) {
    if (!ENV_NAME_RE.test(k)) bad(`Cannot pass environment variable "${k}": bad name`, { name: k });
    if (/[\0\n\r]/.test(v)) {
      bad(`Cannot pass environment variable "${k}": its value holds a NUL or newline`, { name: k });
    }
  }
  for (const p of spec.lxcRootfs.path.split(":").filter((s) => s.startsWith("/"))) checkHostPath("rootfs", p);
  if (/[\n\0]/.test(spec.lxcRootfs.path + (spec.lxcRootfs.options ?? ""))) {
    bad(`Cannot use rootfs "${spec.lxcRootfs.path}"`, { rootfs: spec.lxcRootfs.path });
  }
  for (const b of [...spec.binds, ...(spec.extraMounts ?? [])]) {
    checkHostPath("bind source", b.source);
    containerRelative(b.dest);
  }
  if (spec.importsDir) checkHostPath("imports dir", spec.importsDir);
  if (spec.legacyImportsDir) checkHostPath("imports dir", spec.legacyImportsDir);
  checkHostPath("LXC path", spec.lxcPath);
  if (/[\n\0]/.test(spec.logFile)) bad(`Cannot use log file "${spec.logFile}"`, {});
  if (spec.cwd !== undefined && !spec.cwd.startsWith("/")) bad(`Cannot use working dir "${spec.cwd}"`, {});
}

function bindEntry(b: BindMount, isDir: boolean): string {
  const opts = [isDir ? "rbind" : "bind", `create=${isDir ? "dir" : "file"}`];
  if (b.readonly) opts.push("ro");
  return `${b.source} ${containerRelative(b.dest)} none ${opts.join(",")} 0 0`;
}

/**
 * The config items of a run, in order. `isDir(source)` says how to create each bind's mount point.
 * Mounts under /stacker need their mount points in `host.stackerView` (see `stackerMountPoints`).
 */
export function containerConfig(
  spec: RunSpec,
  host: HostPaths,
  isDir: (source: string) => boolean,
): [string, string][] {
  const c: [string, string][] = [
    ["lxc.uts.name", spec.hostname ?? "stacker"],
    ["lxc.rootfs.path", spec.lxcRootfs.path],
  ];
  if (spec.lxcRootfs.options) c.push(["lxc.rootfs.options", spec.lxcRootfs.options]);
  if (host.rootfsMount) c.push(["lxc.rootfs.mount", host.rootfsMount]);
  c.push(
    ["lxc.log.file", spec.logFile],
    ["lxc.log.level", spec.logLevel ?? "INFO"],
    // Share the host's network: stacker never configures interfaces.
    ["lxc.net.0.type", "none"],
    ["lxc.autodev", "1"],
    ["lxc.mount.auto", "proc:mixed"],
    ["lxc.pty.max", "1024"],
    ["lxc.apparmor.profile", "unconfined"],
    ["lxc.apparmor.allow_incomplete", "1"],
    ["lxc.mount.entry", "/sys sys none rbind,create=dir 0 0"],
    ["lxc.mount.entry", "tmpfs dev/shm tmpfs rw,nosuid,nodev,create=dir 0 0"],
    // No create=file (it would leave a mode-000 file in the layer): runInContainer makes a placeholder
    // it removes again, and without one the mount is skipped.
    ["lxc.mount.entry", "/etc/resolv.conf etc/resolv.conf none bind,ro,optional 0 0"],
    ["lxc.mount.entry", `${host.busybox} ${IDLE_BUSYBOX.slice(1)} none bind,ro,create=file 0 0`],
    ["lxc.mount.entry", `${host.lifeline} ${LIFELINE.slice(1)} none bind,create=file 0 0`],
  );
  if (spec.legacyImportsDir) {
    c.push(["lxc.mount.entry", `${spec.legacyImportsDir} stacker none rbind,ro,create=dir 0 0`]);
  } else {
    c.push(["lxc.mount.entry", `${host.stackerView} stacker none bind,ro,create=dir 0 0`]);
    if (spec.importsDir) c.push(["lxc.mount.entry", `${spec.importsDir} stacker/imports none rbind,ro 0 0`]);
  }
  for (const b of [...spec.binds, ...(spec.extraMounts ?? [])]) {
    c.push(["lxc.mount.entry", bindEntry(b, isDir(b.source))]);
  }
  if (host.realRoot) c.push(["lxc.cgroup.relative", "1"]);
  return c;
}

/** Mount points (relative to /stacker) that must exist in the read-only /stacker view. */
export function stackerMountPoints(spec: RunSpec, isDir: (source: string) => boolean): {
  dirs: string[];
  files: string[];
} {
  const dirs: string[] = [];
  const files: string[] = [];
  if (spec.legacyImportsDir) return { dirs, files };
  if (spec.importsDir) dirs.push("imports");
  for (const b of [...spec.binds, ...(spec.extraMounts ?? [])]) {
    const rel = containerRelative(b.dest);
    if (rel === "stacker") continue;
    if (rel.startsWith("stacker/")) (isDir(b.source) ? dirs : files).push(rel.slice("stacker/".length));
  }
  return { dirs, files };
}
