/**
 * `deno task compile [--arch x86_64|aarch64] [--output FILE] [--no-fetch] [--narrow-for DIR]`:
 * builds one executable (`dist/stacker-ts-<target>` by default) that embeds our code, the npm
 * dependencies and the helper binaries of vendor/manifest.json (vendor/bin/<arch>, hash-verified).
 *
 * Steps, in order, so that everything that can be checked is checked before denort is needed:
 *   1. `deno check cli.ts`                                           (exit 1 on failure)
 *   2. every helper for the target is in vendor/bin and matches its sha256; missing ones are
 *      fetched with scripts/fetch-helpers.ts unless --no-fetch     (exit 1 on failure)
 *   3. denort: `DENORT_BIN` (Deno reads it) or the cached
 *      `$DENO_DIR/dl/release/v<deno version>/denort-<target>.zip`  (exit 3 "missing denort" if neither)
 *   4. `deno compile --target … --include vendor/bin/<arch> …`      (exit 1 on failure)
 *
 * Permissions: Deno bakes them in at compile time, but stacker's dirs are chosen at run time, so by
 * default the executable gets `-A`. `--narrow-for DIR` bakes the narrow set of
 * lib/util/permissions.ts for a build machine that always works in DIR (stacker, oci and roots
 * dirs under it, stacker files in it).
 */
import { permissionFlags, permissionSetFor } from "../lib/util/permissions.ts";
import { fetchHelpers, verifyHelpers } from "./fetch-helpers.ts";

/** Exit code when everything but the denort runtime is in place: CI tells it apart from a failure. */
export const EXIT_MISSING_DENORT = 3;

export const TARGETS: Readonly<Record<string, string>> = {
  x86_64: "x86_64-unknown-linux-gnu",
  aarch64: "aarch64-unknown-linux-gnu",
};

const root = decodeURIComponent(new URL("..", import.meta.url).pathname).replace(/\/$/, "");

function say(line: string): void {
  // deno-lint-ignore no-console
  console.error(line);
}

/** Deno's own cache dir (DENO_DIR, else $XDG_CACHE_HOME/deno, else ~/.cache/deno). */
export function denoDir(env: Readonly<Record<string, string>>): string | undefined {
  if (env.DENO_DIR) return env.DENO_DIR;
  if (env.XDG_CACHE_HOME) return `${env.XDG_CACHE_HOME}/deno`;
  return env.HOME ? `${env.HOME}/.cache/deno` : undefined;
}

/**
 * The denort to use for `target`, as `{ via, path }`, or undefined when there is none: `DENORT_BIN`
 * when it names a file, else the zip `deno compile` would have downloaded into its cache.
 */
export async function findDenort(
  target: string,
  env: Readonly<Record<string, string>>,
  version: string = Deno.version.deno,
): Promise<{ via: "DENORT_BIN" | "cache"; path: string } | undefined> {
  const isFile = (p: string) => Deno.stat(p).then((i) => i.isFile, () => false);
  if (env.DENORT_BIN && await isFile(env.DENORT_BIN)) return { via: "DENORT_BIN", path: env.DENORT_BIN };
  const dir = denoDir(env);
  const cached = dir ? `${dir}/dl/release/v${version}/denort-${target}.zip` : undefined;
  if (cached && await isFile(cached)) return { via: "cache", path: cached };
  return undefined;
}

async function deno(args: string[], env?: Record<string, string>): Promise<boolean> {
  const r = await new Deno.Command(Deno.execPath(), { args, cwd: root, env, stdin: "null" }).spawn().status;
  return r.success;
}

async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  const take = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    if (i < 0) return undefined;
    const v = args[i + 1];
    args.splice(i, 2);
    return v;
  };
  const arch = take("--arch") ?? Deno.build.arch;
  const output = take("--output");
  const narrowFor = take("--narrow-for");
  const noFetch = args.includes("--no-fetch");
  const rest = args.filter((a) => a !== "--no-fetch");
  const target = TARGETS[arch];
  if (!target || rest.length > 0 || (narrowFor !== undefined && !narrowFor.startsWith("/"))) {
    say("usage: deno task compile [--arch x86_64|aarch64] [--output FILE] [--no-fetch] [--narrow-for /DIR]");
    return 2;
  }
  const env = Deno.env.toObject();

  say("compile: deno check cli.ts");
  if (!await deno(["check", "cli.ts"])) {
    say("compile: deno check failed");
    return 1;
  }

  let problems = await verifyHelpers(`${root}/vendor/bin`, arch);
  if (problems.length > 0 && !noFetch) {
    say(`compile: fetching helpers for ${arch}`);
    try {
      await fetchHelpers({ arch, out: `${root}/vendor/bin`, report: (l) => say(`  ${l}`) });
    } catch (err) {
      say(err instanceof Error ? err.message : String(err));
    }
    problems = await verifyHelpers(`${root}/vendor/bin`, arch);
  }
  if (problems.length > 0) {
    say(`compile: helpers for ${arch} are not in place:\n  ${problems.join("\n  ")}`);
    return 1;
  }
  say(`compile: helpers for ${arch} verified against vendor/manifest.json`);

  const denort = await findDenort(target, env);
  if (!denort) {
    const dir = denoDir(env) ?? "$DENO_DIR";
    say(
      `compile: missing denort: set DENORT_BIN to a denort ${Deno.version.deno} binary for ${target}, ` +
        `or place denort-${target}.zip in ${dir}/dl/release/v${Deno.version.deno}/ ` +
        `(deno compile cannot download it here)`,
    );
    return EXIT_MISSING_DENORT;
  }
  say(`compile: using denort from ${denort.via} (${denort.path})`);

  const perms = narrowFor
    ? permissionFlags(permissionSetFor({
      stackerDir: `${narrowFor}/.stacker`,
      ociDir: `${narrowFor}/oci`,
      rootsDir: `${narrowFor}/roots`,
      inputs: [`${narrowFor}/stacker.yaml`, narrowFor],
      env,
    }))
    : ["--allow-all"];
  const out = output ?? `dist/stacker-ts-${target}`;
  const ok = await deno([
    "compile",
    "--target",
    target,
    "--output",
    out,
    "--include",
    `vendor/bin/${arch}`,
    ...perms,
    "cli.ts",
  ], denort.via === "DENORT_BIN" ? { ...env, DENORT_BIN: denort.path } : env);
  if (!ok) {
    say("compile: deno compile failed");
    return 1;
  }
  say(`compile: wrote ${out}`);
  return 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
