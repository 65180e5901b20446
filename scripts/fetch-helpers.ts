/**
 * `deno run -A scripts/fetch-helpers.ts [--arch x86_64|aarch64] [--out DIR] [--offline] [NAME…]`:
 * puts every helper binary of vendor/manifest.json (or the NAMEs) at `<out>/<arch>/<name>`
 * (default out: vendor/bin) and verifies it against the manifest's sha256.
 *
 * Per helper: a file already there with the right hash is kept; else the pinned Debian package is
 * fetched with `apt-get download PKG[:ARCH]=VERSION` into a temp dir and unpacked with
 * `dpkg-deb -x` (a foreign architecture uses private apt lists in a temp dir, leaving the host's
 * apt and dpkg state alone); if that fails (no network), a host install of exactly that package
 * version is copied instead. A hash mismatch is an error, never a warning: the manifest is the contract.
 * Exit codes: 0 all verified, 1 a helper could not be fetched or verified, 2 usage.
 */
import { HELPER_MANIFEST, helperNames, helperSource, sha256File } from "../lib/util/helpers.ts";

export interface FetchHelpersOptions {
  /** Deno arch name (default `Deno.build.arch`). */
  readonly arch?: string;
  /** Root of the helper tree (default vendor/bin next to this script). */
  readonly out?: string;
  /** Which helpers (default all in the manifest). */
  readonly names?: readonly string[];
  /** Do not call apt-get; only keep verified files or copy matching host installs. */
  readonly offline?: boolean;
  /** Progress lines (default: none). */
  readonly report?: (line: string) => void;
}

export interface FetchedHelper {
  readonly name: string;
  readonly path: string;
  readonly sha256: string;
  /** "kept" (already verified), "apt" (downloaded), "host" (copied from the installed package). */
  readonly via: "kept" | "apt" | "host";
}

/** vendor/bin next to this script. */
export const DEFAULT_HELPER_DIR: string = decodeURIComponent(
  new URL("../vendor/bin", import.meta.url).pathname,
);

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}

export async function run(cmd: string, args: string[], cwd?: string): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped", stdin: "null" })
      .output();
    const dec = new TextDecoder();
    return { ok: r.success, out: (dec.decode(r.stdout) + dec.decode(r.stderr)).trim() };
  } catch (err) {
    return { ok: false, out: `${cmd}: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Copies `from` to `to` (temp + rename) and returns the sha256 of the file as it is on disk. */
async function copyHashed(from: string, to: string): Promise<string> {
  const tmp = `${to}.tmp-${Deno.pid}`;
  try {
    await Deno.copyFile(from, tmp);
    await Deno.chmod(tmp, 0o755);
    await Deno.rename(tmp, to);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw err;
  }
  return await sha256File(to);
}

async function hostVersion(pkg: string, debArch: string): Promise<string | undefined> {
  const r = await run("dpkg-query", ["-W", "-f", "${Version} ${Architecture}", `${pkg}:${debArch}`]);
  if (!r.ok) return undefined;
  const [version, arch] = r.out.split(" ");
  return arch === debArch || arch === "all" ? version : undefined;
}

/** Private apt lists for a foreign Debian architecture: `options` go before an apt-get command. */
export interface ForeignApt {
  /** Temp dir holding the lists and the cache; the caller removes it. */
  readonly dir: string;
  readonly options: string[];
}

/**
 * apt-get options (and an `apt-get update` already run with them) that download packages of
 * `debArch` without touching the host's dpkg architectures or apt state.
 */
export async function foreignApt(
  debArch: string,
  report: (line: string) => void = () => {},
): Promise<ForeignApt> {
  const dir = await Deno.makeTempDir({ prefix: "stacker-ts-apt-" });
  for (const d of ["lists/partial", "cache/archives/partial"]) {
    await Deno.mkdir(`${dir}/${d}`, { recursive: true });
  }
  await run("chmod", ["-R", "0777", dir]);
  const options = [
    "-o",
    `APT::Architectures::=${debArch}`,
    "-o",
    `APT::Architecture=${debArch}`,
    "-o",
    `Dir::State::Lists=${dir}/lists`,
    "-o",
    `Dir::Cache=${dir}/cache`,
    "-o",
    "Dir::State::status=/dev/null",
  ];
  const up = await run("apt-get", [...options, "update"]);
  if (!up.ok) report(`apt-get update for ${debArch}: ${up.out.split("\n").at(-1)}`);
  return { dir, options };
}

/** dpkg's name for this host's architecture (amd64, arm64). */
export async function hostDebArch(): Promise<string | undefined> {
  const r = await run("dpkg", ["--print-architecture"]);
  return r.ok ? r.out : undefined;
}

/**
 * Fetches and verifies helpers (see the file comment). Throws an Error naming every helper that
 * failed, after trying all of them; returns what was verified otherwise.
 */
export async function fetchHelpers(opts: FetchHelpersOptions = {}): Promise<FetchedHelper[]> {
  const arch = opts.arch ?? Deno.build.arch;
  const dir = `${opts.out ?? DEFAULT_HELPER_DIR}/${arch}`;
  const report = opts.report ?? (() => {});
  await Deno.mkdir(dir, { recursive: true });
  const done: FetchedHelper[] = [];
  const failures: string[] = [];
  const nativeArch = await hostDebArch();
  // A foreign architecture gets its own apt lists in a temp dir, so the host's dpkg
  // architectures and apt state stay as they are.
  let foreign: ForeignApt | undefined;
  const aptOptions = async (debArch: string): Promise<string[]> => {
    if (debArch === nativeArch) return [];
    foreign ??= await foreignApt(debArch, report);
    return foreign.options;
  };
  try {
    for (const name of opts.names ?? helperNames()) {
      await fetchOne(name);
    }
  } finally {
    if (foreign) await Deno.remove(foreign.dir, { recursive: true });
  }
  if (failures.length > 0) {
    throw new Error(`Cannot fetch helpers for "${arch}":\n  ${failures.join("\n  ")}`);
  }
  return done;

  async function fetchOne(name: string): Promise<void> {
    const src = helperSource(name, arch);
    const dest = `${dir}/${name}`;
    const pkgSpec = `${src.package}${src.debArch === nativeArch ? "" : `:${src.debArch}`}`;
    try {
      if (await exists(dest) && (await sha256File(dest)) === src.sha256) {
        done.push({ name, path: dest, sha256: src.sha256, via: "kept" });
        report(`${name}: kept ${dest}`);
        return;
      }
      const reasons: string[] = [];
      let via: FetchedHelper["via"] | undefined;
      let got: string | undefined;
      if (!opts.offline) {
        const tmp = await Deno.makeTempDir({ prefix: "stacker-ts-helper-" });
        try {
          // apt drops to the _apt user for downloads; let it write here.
          await Deno.chmod(tmp, 0o777);
          const dl = await run(
            "apt-get",
            [...await aptOptions(src.debArch), "download", `${pkgSpec}=${src.version}`],
            tmp,
          );
          const debs = dl.ok
            ? (await Array.fromAsync(Deno.readDir(tmp))).filter((e) => e.name.endsWith(".deb"))
            : [];
          if (debs.length === 1) {
            const x = await run("dpkg-deb", ["-x", `${tmp}/${debs[0].name}`, `${tmp}/x`]);
            if (!x.ok) reasons.push(`dpkg-deb -x: ${x.out}`);
            else {
              got = await copyHashed(`${tmp}/x/${src.path}`, dest);
              via = "apt";
            }
          } else reasons.push(`apt-get download ${pkgSpec}=${src.version}: ${dl.out.split("\n").at(-1)}`);
        } finally {
          await Deno.remove(tmp, { recursive: true });
        }
      }
      if (via === undefined) {
        const installed = await hostVersion(src.package, src.debArch);
        if (installed === src.version && await exists(`/${src.path}`)) {
          got = await copyHashed(`/${src.path}`, dest);
          via = "host";
        } else {
          reasons.push(
            `host has ${src.package} ${installed ?? "not installed"}, manifest pins ${src.version}`,
          );
        }
      }
      if (via === undefined || got === undefined) {
        failures.push(`${name}: cannot fetch ${src.package} ${src.version} (${reasons.join("; ")})`);
        return;
      }
      if (got !== src.sha256) {
        await Deno.remove(dest);
        failures.push(
          `${name}: sha256 of ${src.package} ${src.version} is "${got}", manifest says "${src.sha256}"`,
        );
        return;
      }
      done.push({ name, path: dest, sha256: got, via });
      report(`${name}: ${via === "apt" ? "downloaded" : "copied from host"} ${src.package} ${src.version}`);
    } catch (err) {
      failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/**
 * Checks every helper of the manifest for `arch` under `out`: returns one problem line per file
 * that is missing or does not match its hash (empty when all are good).
 */
export async function verifyHelpers(
  out: string = DEFAULT_HELPER_DIR,
  arch: string = Deno.build.arch,
): Promise<string[]> {
  const problems: string[] = [];
  for (const [name, entry] of Object.entries(HELPER_MANIFEST.helpers)) {
    const src = entry.arches[arch];
    if (!src) {
      problems.push(`${name}: no manifest entry for "${arch}"`);
      continue;
    }
    const path = `${out}/${arch}/${name}`;
    if (!(await exists(path))) problems.push(`${name}: "${path}" is missing (run scripts/fetch-helpers.ts)`);
    else {
      const got = await sha256File(path);
      if (got !== src.sha256) {
        problems.push(`${name}: "${path}" has sha256 "${got}", manifest says "${src.sha256}"`);
      }
    }
  }
  return problems;
}

if (import.meta.main) {
  const args = [...Deno.args];
  const take = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const arch = take("--arch");
  const out = take("--out");
  const offline = args.includes("--offline");
  const names = args.filter((a) => a !== "--offline");
  const unknown = names.filter((n) => !helperNames().includes(n));
  if (unknown.length > 0 || names.some((n) => n.startsWith("-"))) {
    // deno-lint-ignore no-console
    console.error(
      `usage: fetch-helpers.ts [--arch x86_64|aarch64] [--out DIR] [--offline] [${helperNames().join("|")}…]`,
    );
    Deno.exit(2);
  }
  try {
    await fetchHelpers({
      arch,
      out,
      offline,
      names: names.length ? names : undefined,
      // deno-lint-ignore no-console
      report: (l) => console.error(l),
    });
  } catch (err) {
    // deno-lint-ignore no-console
    console.error(err instanceof Error ? err.message : String(err));
    Deno.exit(1);
  }
}
