/**
 * `deno task dist [--arch x86_64|aarch64]… [--out DIR] [--cache DIR] [--self-extracting]`: one
 * executable per architecture, `<out>/stacker-<version>-linux-<arch>` (default out: dist/, default
 * arches: both), that carries everything a build needs: the Deno runtime, our program with its npm
 * dependencies bundled, busybox/skopeo/umoci, liblxc with the libraries it needs and lxc-usernsexec.
 *
 * Two ways to make it:
 * - `deno compile` (scripts/compile.ts) when a denort runtime is at hand (`DENORT_BIN`, or the zip
 *   `deno compile` caches); `--self-extracting` skips this;
 * - otherwise a self-extracting file: a POSIX-sh stub (scripts/dist/_stub.ts) plus a gzip'd tar
 *   payload whose every file is checked against SHA256SUMS when it is extracted.
 * Each self-extracting file is checked after it is written: its own stub extracts it into a temp
 * cache (`--dist-extract`), and every ELF in it must be of the target architecture.
 * Exit codes: 0 done, 1 failure, 2 usage.
 */
import { HELPER_MANIFEST, helperNames } from "../lib/util/helpers.ts";
import type { DistManifest } from "../lib/util/dist.ts";
import { STACKER_VERSION } from "../lib/util/version.ts";
import { findDenort, TARGETS } from "./compile.ts";
import { fetchHelpers } from "./fetch-helpers.ts";
import { ARCHES, denoRuntime, elfInterpreter, elfMachine, runtimeFiles } from "./dist/_inputs.ts";
import { appFiles, stagePayload, writeDistFile } from "./dist/_pack.ts";
import { DIST_DENO_FLAGS } from "./dist/_flags.ts";

const root = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

function say(line: string): void {
  // deno-lint-ignore no-console
  console.error(line);
}

/** The dist file name for `arch`. */
export function distFileName(arch: string, version: string = STACKER_VERSION): string {
  return `stacker-${version}-linux-${arch}`;
}

/** Builds the self-extracting dist file for `arch` into `out`; returns its path. */
export async function buildSelfExtracting(arch: string, out: string, cache: string): Promise<string> {
  const report = (l: string) => say(`dist ${arch}: ${l}`);
  await fetchHelpers({ arch, report });
  const deno = await denoRuntime(arch, cache);
  const runtime = await runtimeFiles(arch, cache, report);
  const files = await appFiles();
  files.set("bin/deno", deno.path);
  for (const name of helperNames()) files.set(`bin/${name}`, `${root}/vendor/bin/${arch}/${name}`);
  for (const r of runtime) files.set(`${r.dir}/${r.name}`, r.path);
  const usernsexec = runtime.find((r) => r.name === "lxc-usernsexec")!;
  const interpreter = await elfInterpreter(usernsexec.path);
  if (!interpreter) throw new Error(`"${usernsexec.path}" has no dynamic loader`);
  const lxc = runtime.find((r) => r.name === "liblxc.so.1")!;
  const upstream = (v: string) => v.replace(/^\d+:/, "").replace(/[-+~].*$/, "");
  const manifest: DistManifest = {
    version: STACKER_VERSION,
    arch,
    embedded: {
      deno: deno.version,
      liblxc: upstream(lxc.version),
      ...Object.fromEntries(
        helperNames().map((n) => [n, upstream(HELPER_MANIFEST.helpers[n].arches[arch].version)]),
      ),
    },
    libraries: runtime.filter((r) => r.dir === "lib").map((r) => r.name),
    interpreter,
  };
  const stage = await Deno.makeTempDir({ prefix: `stacker-dist-${arch}-` });
  try {
    const sums = await stagePayload(stage, files, manifest);
    await Deno.mkdir(out, { recursive: true });
    const output = `${out}/${distFileName(arch)}`;
    const r = await writeDistFile(stage, output, {
      version: STACKER_VERSION,
      arch,
      sums,
      denoFlags: DIST_DENO_FLAGS,
    });
    report(`wrote ${output} (${(r.size / 1e6).toFixed(1)} MB, payload sha256 ${r.payloadSha256})`);
    await checkDistFile(output, arch);
    report("payload verified: every file matches SHA256SUMS and every ELF file is for " + arch);
    return output;
  } finally {
    await Deno.remove(stage, { recursive: true });
  }
}

/**
 * Extracts `file` with its own stub into a temp cache and checks the ELF files' architecture.
 * Throws when anything is off.
 */
export async function checkDistFile(file: string, arch: string): Promise<void> {
  const cache = await Deno.makeTempDir({ prefix: "stacker-dist-check-" });
  try {
    const r = await new Deno.Command("sh", {
      args: [file, "--dist-extract"],
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", XDG_CACHE_HOME: cache },
      clearEnv: true,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    if (!r.success) throw new Error(`"${file}" does not extract: ${dec.decode(r.stderr).trim()}`);
    const dir = dec.decode(r.stdout).trim();
    for (const sub of ["bin", "lib"]) {
      for await (const e of Deno.readDir(`${dir}/${sub}`)) {
        const m = await elfMachine(`${dir}/${sub}/${e.name}`);
        if (m !== arch) throw new Error(`"${sub}/${e.name}" in "${file}" is for ${m}, not ${arch}`);
      }
    }
  } finally {
    await new Deno.Command("chmod", { args: ["-R", "u+w", cache] }).output();
    await Deno.remove(cache, { recursive: true });
  }
}

async function main(argv: string[]): Promise<number> {
  const arches: string[] = [];
  let out = `${root}/dist`;
  let cache = `${Deno.env.get("XDG_CACHE_HOME") ?? `${Deno.env.get("HOME")}/.cache`}/stacker-ts/dist-inputs`;
  let selfExtracting = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--arch" && ARCHES[argv[i + 1]]) arches.push(argv[++i]);
    else if (a === "--out" && argv[i + 1]) out = argv[++i];
    else if (a === "--cache" && argv[i + 1]) cache = argv[++i];
    else if (a === "--self-extracting") selfExtracting = true;
    else {
      say("usage: deno task dist [--arch x86_64|aarch64]… [--out DIR] [--cache DIR] [--self-extracting]");
      return 2;
    }
  }
  if (arches.length === 0) arches.push("x86_64", "aarch64");
  const env = Deno.env.toObject();
  for (const arch of arches) {
    try {
      const denort = selfExtracting ? undefined : await findDenort(TARGETS[arch], env);
      if (denort) {
        say(`dist ${arch}: denort from ${denort.via} (${denort.path}): deno compile`);
        const output = `${out}/${distFileName(arch)}`;
        const r = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", `${root}/scripts/compile.ts`, "--arch", arch, "--output", output],
          cwd: root,
          stdin: "null",
          stdout: "inherit",
          stderr: "inherit",
        }).output();
        if (!r.success) {
          say(
            `dist ${arch}: deno compile with the denort from ${denort.via} (${denort.path}) failed (exit ${r.code})`,
          );
          return 1;
        }
        continue;
      }
      await buildSelfExtracting(arch, out, cache);
    } catch (err) {
      say(`dist ${arch}: ${err instanceof Error ? err.message : String(err)}`);
      return 1;
    }
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
