/**
 * The cgroups of this process, so the run helper can return to them after a daemonized
 * `start()`: as root, liblxc 5.0.2 moves the *calling* process into `lxc.monitor.<name>` in every
 * hierarchy and then cannot remove those directories (RUNTIME-NOTES.md §4, pitfall 1).
 */

/** `cgroup.procs` files of the cgroups this process is in, one per mounted hierarchy. */
export async function ownCgroupProcsFiles(): Promise<string[]> {
  const membership = (await Deno.readTextFile("/proc/self/cgroup")).split("\n").filter((l) => l);
  const mounts = (await Deno.readTextFile("/proc/self/mountinfo")).split("\n").filter((l) => l);
  // mountinfo: id parent maj:min root mountpoint opts [optional…] - fstype source superopts
  const v1: { point: string; opts: Set<string> }[] = [];
  let v2: string | undefined;
  for (const line of mounts) {
    const [pre, post] = line.split(" - ");
    if (!post) continue;
    const [fstype, , superOpts] = post.split(" ");
    const point = pre.split(" ")[4];
    if (fstype === "cgroup") v1.push({ point, opts: new Set(superOpts.split(",")) });
    else if (fstype === "cgroup2") v2 ??= point;
  }
  const out: string[] = [];
  for (const line of membership) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const [, , controllers, path] = m;
    let point: string | undefined;
    if (controllers === "") point = v2;
    else {
      const wanted = controllers.split(",");
      point = v1.find((h) => wanted.every((c) => h.opts.has(c)))?.point;
    }
    if (point) out.push(`${point}${path === "/" ? "" : path}/cgroup.procs`);
  }
  return out;
}

/** Writes `pid` into each `cgroup.procs`; returns the files that refused it (best effort). */
export async function moveToCgroups(files: readonly string[], pid: number): Promise<string[]> {
  const failed: string[] = [];
  for (const f of files) {
    try {
      await Deno.writeTextFile(f, `${pid}\n`, { append: true });
    } catch {
      failed.push(f);
    }
  }
  return failed;
}

/** True in the initial user namespace, where real root owns cgroups. */
export { inInitialUserns } from "../util/identity.ts";

async function rmdirTree(dir: string): Promise<void> {
  for await (const e of Deno.readDir(dir)) {
    if (e.isDirectory) await rmdirTree(`${dir}/${e.name}`);
  }
  await Deno.remove(dir);
}

/**
 * Removes the `lxc.monitor.<name>*` and `lxc.payload.<name>*` directories LXC left next to the
 * cgroups in `files` (what a failed start leaves while the caller sat in them). Best effort:
 * returns the directories that could not be removed.
 */
export async function removeContainerCgroups(files: readonly string[], name: string): Promise<string[]> {
  const left: string[] = [];
  for (const f of files) {
    const dir = f.slice(0, f.lastIndexOf("/"));
    let entries: Deno.DirEntry[];
    try {
      entries = await Array.fromAsync(Deno.readDir(dir));
    } catch {
      continue;
    }
    for (const e of entries) {
      if (!e.isDirectory) continue;
      if (!e.name.startsWith(`lxc.monitor.${name}`) && !e.name.startsWith(`lxc.payload.${name}`)) continue;
      try {
        await rmdirTree(`${dir}/${e.name}`);
      } catch {
        left.push(`${dir}/${e.name}`);
      }
    }
  }
  return left;
}
