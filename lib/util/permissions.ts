/**
 * The narrow Deno permission set stacker-ts runs with, as data, and the `deno run` flags for it.
 *
 * - read: the stacker, oci and roots dirs; the stacker files and their directories (imports are
 *   relative to them); the config file (explicit or default); the helper cache; TMPDIR; the
 *   embedded helpers; the host files the runtime reads (`HOST_READ`: passwd/group, subuid/subgid,
 *   /proc/self, cgroups).
 * - write: the stacker, oci and roots dirs; the helper cache; TMPDIR.
 * - run: the helpers and host tools by name (`HOST_RUN`, those present on PATH), cached embedded
 *   helpers by path, and the Deno executable itself (the runtime re-executes us in the user namespace).
 * - ffi: all. Deno 2.9 accepts `--allow-ffi=<lib paths>` for `dlopen`, but `UnsafePointerView`
 *   (errno, liblxc's struct of function pointers) demands the unscoped permission; the libraries
 *   (libc, liblxc, resolved by `resolveLibrary`) are readable so the seam can locate them.
 * - env: all. cli.ts reads `Deno.env.toObject()` once; narrowing needs a fixed list of names there.
 * - net: the registry hosts when the caller knows them, else all.
 * - sys: hostname (image annotations), uid, gid.
 */

/** Host files the build reads outside its own dirs. */
export const HOST_READ: readonly string[] = [
  "/etc/passwd",
  "/etc/group",
  "/etc/subuid",
  "/etc/subgid",
  "/proc/self",
  "/proc/filesystems",
  "/sys/fs/cgroup",
];

/** Executables the build may start by name (resolved on PATH by Deno when the process starts). */
export const HOST_RUN: readonly string[] = [
  "busybox",
  "skopeo",
  "umoci",
  "newuidmap",
  "newgidmap",
  "cp",
  "tar",
  "git",
  "mksquashfs",
  "unsquashfs",
  "veritysetup",
  "mkfs.erofs",
];

/** Shared libraries opened through FFI, by soname. */
export const FFI_LIBRARIES: readonly string[] = ["libc.so.6", "liblxc.so.1"];

/** `Deno.*` system-info calls in use. */
export const SYS_CALLS: readonly string[] = ["hostname", "uid", "gid"];

/** One Deno permission set; `true` means unrestricted. */
export interface PermissionSet {
  readonly read: readonly string[];
  readonly write: readonly string[];
  readonly run: readonly string[];
  readonly ffi: true | readonly string[];
  readonly env: true | readonly string[];
  readonly net: true | readonly string[];
  readonly sys: readonly string[];
}

export interface PermissionInputs {
  /** Absolute dirs, as resolved from the global options (`GlobalOptions` fits). */
  readonly stackerDir: string;
  readonly ociDir: string;
  readonly rootsDir: string;
  /** Stacker files (and other inputs) read by the command; each file's directory becomes readable. */
  readonly inputs?: readonly string[];
  /**
   * The config file read at start-up (`--config`); default the one the CLI looks for,
   * $XDG_CONFIG_HOME/stacker/conf.yaml or ~/.config/stacker/conf.yaml.
   */
  readonly configFile?: string;
  /** The process environment: PATH, HOME, XDG_CACHE_HOME, XDG_CONFIG_HOME, TMPDIR. */
  readonly env: Readonly<Record<string, string>>;
  /** Registry hosts (`host[:port]`) the command talks to; undefined allows all net access. */
  readonly registries?: readonly string[];
  /** Absolute paths of helper binaries to allow besides `HOST_RUN` (e.g. cached embedded copies). */
  readonly helpers?: readonly string[];
  /** Directories of embedded files to allow reading (the compiled executable's vendor/bin). */
  readonly embedded?: readonly string[];
  /** The Deno executable to allow re-running (default `Deno.execPath()`). */
  readonly self?: string;
  /** Library search dirs for `resolveLibrary` (default `LIBRARY_DIRS`). */
  readonly libraryDirs?: readonly string[];
}

/** Where `resolveLibrary` looks, in order (Debian multiarch first). */
export const LIBRARY_DIRS: readonly string[] = [
  `/lib/${Deno.build.arch}-linux-gnu`,
  `/usr/lib/${Deno.build.arch}-linux-gnu`,
  "/lib64",
  "/usr/lib64",
  "/lib",
  "/usr/lib",
];

/**
 * The absolute path of shared library `soname` in `dirs`, or undefined. Code that dlopens under a
 * narrowed `--allow-ffi` must open this same path.
 */
export function resolveLibrary(soname: string, dirs: readonly string[] = LIBRARY_DIRS): string | undefined {
  for (const dir of dirs) {
    try {
      // Sync stat on purpose: this runs once per library while flags are being assembled.
      if (Deno.statSync(`${dir}/${soname}`).isFile) return `${dir}/${soname}`;
    } catch {
      // not in this dir
    }
  }
  return undefined;
}

/** Absolute paths of the `names` found on `path`. */
function pathsOnPath(names: readonly string[], path: string | undefined): string[] {
  const dirs = (path ?? "").split(":").filter((d) => d.startsWith("/"));
  const out: string[] = [];
  for (const n of names) {
    for (const d of dirs) {
      try {
        if (Deno.statSync(`${d}/${n}`).isFile) out.push(`${d}/${n}`);
      } catch {
        // not in this dir
      }
    }
  }
  return out;
}

/** Names of `HOST_RUN` found on `path` (Deno prints a note for every allow-run name it cannot resolve). */
function presentOnPath(names: readonly string[], path: string | undefined): string[] {
  const dirs = (path ?? "").split(":").filter((d) => d.startsWith("/"));
  return names.filter((n) =>
    dirs.some((d) => {
      try {
        return Deno.statSync(`${d}/${n}`).isFile;
      } catch {
        return false;
      }
    })
  );
}

function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function unique(xs: readonly string[]): string[] {
  return [...new Set(xs.map((x) => (x.length > 1 ? x.replace(/\/+$/, "") : x)))];
}

/**
 * The narrow permission set for one command run with these dirs and inputs. Paths must be absolute
 * (relative ones are refused: Deno would resolve them against its own cwd, not the user's intent).
 * Throws TypeError for a relative path.
 */
export function permissionSetFor(inputs: PermissionInputs): PermissionSet {
  const env = inputs.env;
  const home = env.HOME?.replace(/\/$/, "");
  const cache = env.XDG_CACHE_HOME?.startsWith("/")
    ? `${env.XDG_CACHE_HOME}/stacker-ts`
    : home
    ? `${home}/.cache/stacker-ts`
    : undefined;
  const configFile = inputs.configFile ??
    (env.XDG_CONFIG_HOME
      ? `${env.XDG_CONFIG_HOME}/stacker/conf.yaml`
      : home
      ? `${home}/.config/stacker/conf.yaml`
      : undefined);
  const tmp = env.TMPDIR?.startsWith("/") ? env.TMPDIR : "/tmp";
  const dirs = [inputs.stackerDir, inputs.ociDir, inputs.rootsDir];
  const files = inputs.inputs ?? [];
  for (const p of [...dirs, ...files, ...(inputs.helpers ?? []), ...(inputs.embedded ?? [])]) {
    if (!p.startsWith("/")) throw new TypeError(`Cannot grant access to "${p}": the path is not absolute`);
  }
  const write = unique([...dirs, ...(cache ? [cache] : []), tmp]);
  const ffi = FFI_LIBRARIES.map((so) => resolveLibrary(so, inputs.libraryDirs)).filter((p): p is string =>
    p !== undefined
  );
  const read = unique([
    // The FFI seam locates its libraries by path before opening them; helpers are checked
    // (busybox must be static) before they are used.
    ...ffi,
    ...pathsOnPath(HOST_RUN, env.PATH),
    ...write,
    ...files,
    ...files.map(dirOf),
    ...(configFile ? [configFile] : []),
    ...(inputs.embedded ?? []),
    ...HOST_READ,
  ]);
  return {
    read,
    write,
    run: unique([
      ...presentOnPath(HOST_RUN, env.PATH),
      ...(inputs.helpers ?? []),
      inputs.self ?? Deno.execPath(),
    ]),
    ffi: true,
    env: true,
    net: inputs.registries ? unique(inputs.registries) : true,
    sys: [...SYS_CALLS],
  };
}

/**
 * `deno run` flags for `set`, e.g. `["--allow-read=/a,/b", "--allow-env", …]`. An empty list
 * grants nothing (no flag). Throws TypeError for a value containing ",", which Deno's flag syntax
 * cannot express.
 */
export function permissionFlags(set: PermissionSet): string[] {
  const flag = (name: string, v: true | readonly string[]): string[] => {
    if (v === true) return [`--allow-${name}`];
    if (v.length === 0) return [];
    for (const x of v) {
      if (x.includes(",")) throw new TypeError(`Cannot grant ${name} access to "${x}": it contains ","`);
    }
    return [`--allow-${name}=${v.join(",")}`];
  };
  return [
    ...flag("read", set.read),
    ...flag("write", set.write),
    ...flag("run", set.run),
    ...flag("ffi", set.ffi),
    ...flag("env", set.env),
    ...flag("net", set.net),
    ...flag("sys", set.sys),
  ];
}
