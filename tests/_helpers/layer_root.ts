/**
 * Test helper: temp roots with a canary outside them, and tree snapshots for differential
 * comparison (type, mode, uid/gid, size, content hash, link target, xattrs, hardlink groups).
 */
import { createHash } from "node:crypto";
import { runAsTestUser } from "../../scripts/fixtures/mod.ts";

/**
 * Runs tests/_helpers/layer_as_user.ts as the test user with `req`; `out` is the JSON line it
 * printed last ({} when it printed none).
 */
export async function layerAsTestUser(
  req: unknown,
): Promise<{ out: Record<string, unknown>; code: number; log: string }> {
  const res = await runAsTestUser([
    Deno.execPath(),
    "run",
    "-A",
    "--cached-only",
    new URL("./layer_as_user.ts", import.meta.url).pathname,
    JSON.stringify(req),
  ]);
  return {
    out: JSON.parse(res.stdout.trim().split("\n").at(-1) || "{}"),
    code: res.code,
    log: `${res.stdout}\n${res.stderr}`,
  };
}

export interface TempRoot extends AsyncDisposable {
  /** Parent temp dir (mode 0755, under /var/tmp so the test user can reach it). */
  readonly dir: string;
  /** The rootfs to unpack into (exists, empty). */
  readonly rootfs: string;
  /** A directory beside the rootfs, holding `canary`. */
  readonly outside: string;
  readonly canary: string;
  /** True when nothing in `outside` changed. */
  outsideUntouched(): Promise<boolean>;
}

/** A fresh temp root; `chownTo` makes it writable by another uid (e.g. the test user). */
export async function tempRoot(chownTo?: { uid: number; gid: number }): Promise<TempRoot> {
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "layer-test-" });
  await Deno.chmod(dir, 0o755);
  const rootfs = `${dir}/rootfs`, outside = `${dir}/outside`, canary = `${outside}/canary`;
  await Deno.mkdir(rootfs);
  await Deno.mkdir(outside);
  await Deno.writeTextFile(canary, "untouched");
  if (chownTo) {
    await Deno.chown(dir, chownTo.uid, chownTo.gid);
    await Deno.chown(rootfs, chownTo.uid, chownTo.gid);
  }
  return {
    dir,
    rootfs,
    outside,
    canary,
    async outsideUntouched() {
      const names = [];
      for await (const d of Deno.readDir(outside)) names.push(d.name);
      return names.length === 1 && (await Deno.readTextFile(canary)) === "untouched";
    },
    async [Symbol.asyncDispose]() {
      await new Deno.Command("rm", { args: ["-rf", dir] }).output();
    },
  };
}

export interface NodeInfo {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  sha256?: string;
  target?: string;
  xattrs: Record<string, string>;
  rdev?: number;
  /** Index of the hardlink group (files sharing an inode), by first path in sorted order. */
  link?: string;
}

/** Snapshot of every path under `root` (relative paths, root itself excluded). Reads xattrs with getfattr. */
export async function snapshot(
  root: string,
  opts: { xattrs?: boolean; skip?: (rel: string) => boolean } = {},
): Promise<Record<string, NodeInfo>> {
  const out: Record<string, NodeInfo> = {};
  const inodes = new Map<string, string>();
  const paths: string[] = [];
  async function walk(rel: string) {
    for await (const d of Deno.readDir(rel === "" ? root : `${root}/${rel}`)) {
      const r = rel === "" ? d.name : `${rel}/${d.name}`;
      if (opts.skip?.(r)) continue;
      paths.push(r);
      if (d.isDirectory && !d.isSymlink) await walk(r);
    }
  }
  await walk("");
  paths.sort();
  for (const r of paths) {
    const host = `${root}/${r}`;
    const st = await Deno.lstat(host);
    const type = st.isFile
      ? "file"
      : st.isDirectory
      ? "dir"
      : st.isSymlink
      ? "symlink"
      : st.isCharDevice
      ? "char"
      : st.isBlockDevice
      ? "block"
      : st.isFifo
      ? "fifo"
      : "other";
    const n: NodeInfo = {
      type,
      mode: st.mode! & 0o7777,
      uid: st.uid!,
      gid: st.gid!,
      size: type === "file" ? st.size : 0,
      xattrs: {},
    };
    if (type === "symlink") n.target = await Deno.readLink(host);
    if (type === "file") {
      const h = createHash("sha256");
      using f = await Deno.open(host);
      for await (const c of f.readable) h.update(c);
      n.sha256 = h.digest("hex");
      if ((st.nlink ?? 1) > 1) {
        const key = `${st.dev}:${st.ino}`;
        if (!inodes.has(key)) inodes.set(key, r);
        n.link = inodes.get(key);
      }
    }
    if (type === "char" || type === "block") n.rdev = st.rdev ?? 0;
    out[r] = n;
  }
  if (opts.xattrs !== false) {
    // One getfattr run for the whole tree (fast), never following symlinks.
    const res = await new Deno.Command("getfattr", {
      args: ["-R", "-P", "-h", "-d", "-m", "-", "-e", "hex", "--absolute-names", root],
      stdout: "piped",
      stderr: "null",
    }).output();
    let cur: string | undefined;
    for (const line of new TextDecoder().decode(res.stdout).split("\n")) {
      if (line.startsWith("# file: ")) {
        const p = line.slice(8);
        cur = p.startsWith(root + "/") ? p.slice(root.length + 1) : undefined;
      } else if (cur && out[cur] && line.includes("=")) {
        const i = line.indexOf("=");
        const k = line.slice(0, i);
        if (k !== "security.selinux") out[cur].xattrs[k] = line.slice(i + 1);
      }
    }
  }
  return out;
}

/** The differing paths of two snapshots, as readable lines (empty when equal). */
export function diffSnapshots(a: Record<string, NodeInfo>, b: Record<string, NodeInfo>): string[] {
  const lines: string[] = [];
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = JSON.stringify(a[k]), y = JSON.stringify(b[k]);
    if (x !== y) lines.push(`${k}: ${x} != ${y}`);
  }
  return lines.sort();
}
