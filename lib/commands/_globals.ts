/**
 * Resolves global options: explicit flags win over the config file (`--config`, or
 * $XDG_CONFIG_HOME/stacker/conf.yaml, or ~/.config/stacker/conf.yaml), which wins over defaults;
 * `--work-dir` is the base of every dir not set explicitly; all dirs are made absolute.
 */
import { StackerError } from "../util/errors.ts";
import { normalize } from "../util/path.ts";
import type { FlagValues, GlobalOptions, StorageType } from "./types.ts";

interface ConfigFile {
  stacker_dir?: string;
  oci_dir?: string;
  rootfs_dir?: string;
  work_dir?: string;
}

/** `p` made absolute against `cwd` and cleaned (`.`, `..`, `//`), as filepath.Abs does. */
function absolute(p: string, cwd: string): string {
  return normalize(p.startsWith("/") ? p : `${cwd}/${p}`);
}

async function readConfig(path: string, explicit: boolean): Promise<ConfigFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (cause) {
    if (!explicit && cause instanceof Deno.errors.NotFound) return {};
    throw new StackerError(`Cannot read config file "${path}"`, {
      code: "cli.config",
      cause,
      context: { path },
    });
  }
  // Loaded only when a config file exists: the npm deps cost ~60 ms, paid by every command otherwise.
  const { YAML } = await import("../util/deps.ts");
  const data = YAML.parse(text) ?? {};
  if (typeof data !== "object" || Array.isArray(data)) {
    throw new StackerError(`Cannot read config file "${path}": expected a map`, {
      code: "cli.config",
      context: { path },
    });
  }
  const known = new Set(["stacker_dir", "oci_dir", "rootfs_dir", "work_dir"]);
  for (const k of Object.keys(data)) {
    if (!known.has(k)) {
      throw new StackerError(`Cannot read config file "${path}": unknown key "${k}"`, {
        code: "cli.config",
        context: { path, key: k },
      });
    }
  }
  return data as ConfigFile;
}

export async function resolveGlobals(
  flags: FlagValues,
  env: Readonly<Record<string, string>>,
  cwd: string,
): Promise<GlobalOptions> {
  const configPath = (flags["config"] as string | undefined) ??
    (env.XDG_CONFIG_HOME
      ? `${env.XDG_CONFIG_HOME}/stacker/conf.yaml`
      : `${env.HOME ?? ""}/.config/stacker/conf.yaml`);
  const cfg = await readConfig(configPath, flags["config"] !== undefined);
  const workDir = (flags["work-dir"] as string | undefined) ?? cfg.work_dir;
  // As stacker: an explicit flag wins, then the config file's value, then the default, which
  // --work-dir (flag or config) moves under itself. Relative paths are taken from the cwd.
  const pick = (flag: string, fromCfg: string | undefined, def: string) => {
    const explicit = (flags[flag] as string | undefined) ?? fromCfg;
    if (explicit !== undefined && explicit !== "") return absolute(explicit, cwd);
    return workDir ? absolute(def, absolute(workDir, cwd)) : absolute(def, cwd);
  };
  const stackerDir = pick("stacker-dir", cfg.stacker_dir, ".stacker");
  const ociDir = pick("oci-dir", cfg.oci_dir, "oci");
  const rootsDir = pick("roots-dir", cfg.rootfs_dir, "roots");
  if (rootsDir.includes(":")) {
    throw new StackerError(`Cannot use roots dir "${rootsDir}": it must not contain ":"`, {
      code: "cli.roots-dir",
    });
  }
  const st = flags["storage-type"] as string | undefined;
  if (st !== undefined && !["overlay", "btrfs", "copy"].includes(st)) {
    throw new StackerError(`Cannot use storage type "${st}": expected overlay, btrfs or copy`, {
      code: "cli.storage-type",
    });
  }
  const lockTimeout = flags["lock-timeout"] as number | undefined;
  if (lockTimeout !== undefined && !(Number.isFinite(lockTimeout) && lockTimeout >= 0)) {
    throw new StackerError(`Cannot use --lock-timeout ${lockTimeout}: expected seconds (0 or more)`, {
      code: "cli.usage",
    });
  }
  if (flags["debug"] && flags["quiet"]) {
    throw new StackerError("Cannot use --debug and --quiet together", { code: "cli.usage" });
  }
  return {
    workDir: workDir ? absolute(workDir, cwd) : undefined,
    stackerDir,
    ociDir,
    rootsDir,
    storageType: st as StorageType | undefined,
    debug: Boolean(flags["debug"]),
    quiet: Boolean(flags["quiet"]),
    logFile: flags["log-file"] as string | undefined,
    progress: flags["progress"] === undefined ? Deno.stderr.isTerminal() : Boolean(flags["progress"]),
    lockTimeoutMs: lockTimeout === undefined ? undefined : Math.round(lockTimeout * 1000),
    internalUserns: Boolean(flags["internal-userns"]),
  };
}
