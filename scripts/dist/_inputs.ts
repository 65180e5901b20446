/**
 * What a dist file carries besides our code, gathered for one architecture:
 * - the Deno runtime, from the npm package `@deno/linux-<arch>-glibc` of this Deno's version (the
 *   running deno when it is that very binary);
 * - liblxc, the shared libraries it needs that a Deno host may lack, and `lxc-usernsexec`, from
 *   Debian's packages (the host's installed files for its own architecture, else `apt-get download`).
 *
 * Downloads are cached under `<cache>/` so a second dist build needs no network.
 */
import { sha256File } from "../../lib/util/helpers.ts";
import { type ForeignApt, foreignApt, hostDebArch, run } from "../fetch-helpers.ts";

/** Deno arch -> (npm package suffix, Debian arch, multiarch triplet). */
export const ARCHES: Readonly<Record<string, { npm: string; deb: string; triplet: string }>> = {
  x86_64: { npm: "linux-x64-glibc", deb: "amd64", triplet: "x86_64-linux-gnu" },
  aarch64: { npm: "linux-arm64-glibc", deb: "arm64", triplet: "aarch64-linux-gnu" },
};

/** One file taken from a Debian package. */
export interface RuntimeFile {
  /** Name in the dist (a soname for libraries). */
  readonly name: string;
  /** "bin" or "lib". */
  readonly dir: "bin" | "lib";
  readonly package: string;
}

/**
 * liblxc's dependencies in load order (each after what it needs), then liblxc, then the tool. libc
 * and libgcc_s are not carried: Deno itself needs the host's.
 */
export const RUNTIME_FILES: readonly RuntimeFile[] = [
  { name: "libpcre2-8.so.0", dir: "lib", package: "libpcre2-8-0" },
  { name: "libselinux.so.1", dir: "lib", package: "libselinux1" },
  { name: "libseccomp.so.2", dir: "lib", package: "libseccomp2" },
  { name: "libapparmor.so.1", dir: "lib", package: "libapparmor1" },
  { name: "libcap.so.2", dir: "lib", package: "libcap2" },
  { name: "liblxc.so.1", dir: "lib", package: "liblxc1" },
  { name: "lxc-usernsexec", dir: "bin", package: "lxc" },
];

/** A gathered input: where it is on this machine and what it is. */
export interface Gathered {
  readonly name: string;
  readonly path: string;
  readonly package: string;
  readonly version: string;
}

async function exists(p: string): Promise<boolean> {
  return await Deno.stat(p).then(() => true, () => false);
}

async function must(cmd: string, args: string[], cwd?: string): Promise<string> {
  const r = await run(cmd, args, cwd);
  if (!r.ok) throw new Error(`${cmd} ${args.join(" ")} failed: ${r.out.split("\n").slice(-3).join(" ")}`);
  return r.out;
}

/**
 * The Deno runtime for `arch`: this very deno when it is that arch and version, else the npm
 * package's binary (`npm pack` into the cache, once).
 */
export async function denoRuntime(arch: string, cache: string): Promise<Gathered> {
  const version = Deno.version.deno;
  const pkg = `@deno/${ARCHES[arch].npm}`;
  if (arch === Deno.build.arch) return { name: "deno", path: Deno.execPath(), package: pkg, version };
  const dir = `${cache}/npm/${ARCHES[arch].npm}-${version}`;
  const bin = `${dir}/package/deno`;
  if (!(await exists(bin))) {
    const tmp = `${dir}.tmp-${Deno.pid}`;
    await Deno.mkdir(tmp, { recursive: true });
    try {
      const tgz = (await must("npm", ["pack", "--silent", `${pkg}@${version}`], tmp)).split("\n").at(-1)!;
      await must("tar", ["-xzf", tgz], tmp);
      await Deno.remove(`${tmp}/${tgz}`);
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.rename(tmp, dir);
    } catch (err) {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      throw err;
    }
  }
  return { name: "deno", path: bin, package: pkg, version };
}

/** The installed version of `pkg:debArch` on this host, or undefined. */
async function installedVersion(pkg: string, debArch: string): Promise<string | undefined> {
  const r = await run("dpkg-query", ["-W", "-f", "${Status}|${Version}", `${pkg}:${debArch}`]);
  if (!r.ok || !r.out.startsWith("install ok installed|")) return undefined;
  return r.out.split("|")[1];
}

/** The path of the file named `name` in a package's file list, resolved to the real file. */
async function pick(files: string[], f: RuntimeFile, root: string): Promise<string> {
  const { name, package: pkg } = f;
  // Only where such files live: a package also ships e.g. a shell completion named like its tool.
  const where = f.dir === "bin" ? /\/s?bin\/[^/]+$/ : /\/lib\/(?:[^/]+\/)?[^/]+$/;
  const hit = files.find((p) => p.endsWith(`/${name}`) && where.test(p));
  if (!hit) throw new Error(`Cannot find "${name}" in the Debian package "${pkg}"`);
  const real = await Deno.realPath(`${root}${hit}`);
  if (!real.startsWith(root === "" ? "/" : `${root}/`)) {
    throw new Error(`"${hit}" of "${pkg}" leaves its tree`);
  }
  return real;
}

/**
 * Every `RUNTIME_FILES` entry for `arch`: the host's installed files when the package is installed
 * for that architecture, else the package downloaded with apt (cached under `<cache>/debs/<arch>`).
 */
export async function runtimeFiles(
  arch: string,
  cache: string,
  report: (l: string) => void,
): Promise<(Gathered & RuntimeFile)[]> {
  const debArch = ARCHES[arch].deb;
  const native = (await hostDebArch()) === debArch;
  const debs = `${cache}/debs/${arch}`;
  await Deno.mkdir(debs, { recursive: true });
  let foreign: ForeignApt | undefined;
  const out: (Gathered & RuntimeFile)[] = [];
  try {
    for (const f of RUNTIME_FILES) {
      const installed = native ? await installedVersion(f.package, debArch) : undefined;
      if (installed) {
        const list = (await must("dpkg-query", ["-L", `${f.package}:${debArch}`])).split("\n");
        out.push({ ...f, path: await pick(list, f, ""), version: installed });
        continue;
      }
      const tree = `${debs}/${f.package}`;
      if (!(await exists(`${tree}/.version`))) {
        report(`downloading ${f.package}:${debArch}`);
        if (!native) foreign ??= await foreignApt(debArch, report);
        const tmp = await Deno.makeTempDir({ dir: debs, prefix: ".dl-" });
        try {
          await Deno.chmod(tmp, 0o777); // apt drops to the _apt user for downloads
          await must("apt-get", [...(foreign?.options ?? []), "download", `${f.package}:${debArch}`], tmp);
          const deb = (await Array.fromAsync(Deno.readDir(tmp))).find((e) => e.name.endsWith(".deb"))!.name;
          await must("dpkg-deb", ["-x", `${tmp}/${deb}`, `${tmp}/x`]);
          const version = await must("dpkg-deb", ["-f", `${tmp}/${deb}`, "Version"]);
          await Deno.writeTextFile(`${tmp}/x/.version`, version);
          await Deno.remove(tree, { recursive: true }).catch(() => {});
          await Deno.rename(`${tmp}/x`, tree);
        } finally {
          await Deno.remove(tmp, { recursive: true }).catch(() => {});
        }
      }
      const list = (await must("find", [tree, "-name", f.name])).split("\n").map((p) => p.slice(tree.length));
      const version = (await Deno.readTextFile(`${tree}/.version`)).trim();
      out.push({ ...f, path: await pick(list, f, tree), version });
    }
  } finally {
    if (foreign) await Deno.remove(foreign.dir, { recursive: true });
  }
  return out;
}

/** The PT_INTERP (dynamic loader path) of an ELF file, or undefined for a static one. */
export async function elfInterpreter(path: string): Promise<string | undefined> {
  const b = await Deno.readFile(path);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (v.getUint32(0) !== 0x7f454c46 || v.getUint8(4) !== 2) {
    throw new Error(`"${path}" is not a 64-bit ELF file`);
  }
  const le = v.getUint8(5) === 1;
  const phoff = Number(v.getBigUint64(0x20, le));
  const phentsize = v.getUint16(0x36, le);
  for (let i = 0; i < v.getUint16(0x38, le); i++) {
    const ph = phoff + i * phentsize;
    if (v.getUint32(ph, le) !== 3) continue;
    const off = Number(v.getBigUint64(ph + 8, le));
    const size = Number(v.getBigUint64(ph + 32, le));
    return new TextDecoder().decode(b.subarray(off, off + size)).replace(/\0+$/, "");
  }
  return undefined;
}

/** The ELF machine of a file: "x86_64", "aarch64" or the number. */
export async function elfMachine(path: string): Promise<string> {
  using f = await Deno.open(path);
  const head = new Uint8Array(20);
  await f.read(head);
  const m = new DataView(head.buffer).getUint16(18, head[5] === 1);
  return m === 62 ? "x86_64" : m === 183 ? "aarch64" : String(m);
}

export { sha256File };
