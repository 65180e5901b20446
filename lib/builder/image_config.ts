/**
 * The image config of a built layer (spec §1.7 with the stacker-ts decisions): a pure function of
 * the base config, the layer definition and the new layers. Nothing here touches the disk, so the
 * same inputs always give the same config bytes.
 */
import { BuildError } from "../util/errors.ts";
import type { ContainerConfig, Digest, HistoryEntry, ImageConfig } from "../oci/types.ts";
import type { CommandValue, LayerDefinition } from "../stackerfile/mod.ts";

/** The PATH appended when neither the base nor `environment:` sets one. */
export const DEFAULT_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** One layer this build appends to the image, with the history line it gets. */
export interface NewLayer {
  readonly diffId: Digest;
  /** `stacker build of <layer>` or `stacker overlay dir for <layer>`. */
  readonly createdBy: string;
}

export interface DeriveConfigOptions {
  /** New layers in the order they are appended (overlay dirs, build_only ancestors, own diff). */
  readonly newLayers: readonly NewLayer[];
  /** SOURCE_DATE_EPOCH in seconds: fixes `created` and makes the author the literal `stacker`. */
  readonly sourceDateEpoch?: number;
  /** Author without an epoch, e.g. `root@host` (default "stacker"). */
  readonly author?: string;
  /** The clock without an epoch (default: now). */
  readonly now?: Date;
  /** Labels from `generate_labels`; `labels:` wins over them. */
  readonly generatedLabels?: Readonly<Record<string, string>>;
}

/** The OCI name of the host's architecture (Deno says x86_64, OCI says amd64). */
export function hostArchitecture(): string {
  const arch: string = Deno.build.arch;
  return arch === "x86_64" ? "amd64" : arch === "aarch64" ? "arm64" : arch;
}

/** The OCI name of the host's OS. */
export function hostOs(): string {
  return Deno.build.os === "darwin" ? "darwin" : Deno.build.os;
}

/**
 * Splits `s` the way a POSIX shell splits words: whitespace separates, single quotes are literal,
 * double quotes allow `\"` and `\\`, a backslash outside quotes escapes the next character.
 * Throws BuildError on an unterminated quote.
 */
export function splitShellWords(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "'") {
      const end = s.indexOf("'", i + 1);
      if (end < 0) throw unterminated(s);
      cur += s.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < s.length && s[j] !== '"'; j++) {
        if (s[j] === "\\" && j + 1 < s.length && '"\\$`'.includes(s[j + 1])) j++;
        cur += s[j];
      }
      if (j >= s.length) throw unterminated(s);
      i = j;
      inWord = true;
    } else if (c === "\\" && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

function unterminated(s: string): BuildError {
  return new BuildError(`Cannot split command "${s}": unterminated quote`, { code: "build.bad-command" });
}

function commandOf(v: CommandValue): string[] {
  return typeof v === "string" ? splitShellWords(v) : [...v];
}

/** `created` for this build: the epoch if given, else the clock, as RFC 3339 in UTC. */
export function createdTime(opts: Pick<DeriveConfigOptions, "sourceDateEpoch" | "now">): string {
  // RFC 3339 as Go writes it (stacker, umoci): whole seconds carry no fraction, so a
  // SOURCE_DATE_EPOCH build reads "2023-11-14T22:13:20Z" like stacker's reproducible test expects.
  const t = opts.sourceDateEpoch !== undefined
    ? new Date(opts.sourceDateEpoch * 1000)
    : (opts.now ?? new Date());
  return t.toISOString().replace(/\.000Z$/, "Z");
}

/**
 * The config of `layer` built on `base` (undefined for scratch and tar bases). Env is appended to
 * (plus a default PATH if none), Cmd/Entrypoint are inherited unless the layer sets them
 * (`entrypoint` alone clears Cmd, `full_command` sets Entrypoint and clears Cmd), volumes and labels
 * merge, working_dir/runtime_user replace when non-empty, os/arch come from the layer or the host.
 * Throws BuildError for a working_dir under /proc (a container escape vector, CVE-2024-21626).
 */
export function deriveImageConfig(
  base: ImageConfig | undefined,
  layer: LayerDefinition,
  opts: DeriveConfigOptions,
): ImageConfig {
  const from: ContainerConfig = base?.config ?? {};
  const env = [...(from.Env ?? [])];
  for (const [k, v] of Object.entries(layer.environment ?? {})) env.push(`${k}=${v}`);
  if (!env.some((e) => e.startsWith("PATH="))) env.push(DEFAULT_PATH);

  let entrypoint: readonly string[] | null = from.Entrypoint ?? null;
  let cmd: readonly string[] | null = from.Cmd ?? null;
  if (layer.fullCommand !== undefined) {
    entrypoint = commandOf(layer.fullCommand);
    cmd = null;
  } else {
    if (layer.entrypoint !== undefined) {
      entrypoint = commandOf(layer.entrypoint);
      cmd = null;
    }
    if (layer.cmd !== undefined) cmd = commandOf(layer.cmd);
  }

  const volumes: Record<string, Record<string, never>> = { ...(from.Volumes ?? {}) };
  for (const v of layer.volumes ?? []) volumes[v] = {};
  const labels: Record<string, string> = {
    ...(from.Labels ?? {}),
    ...(opts.generatedLabels ?? {}),
    ...(layer.labels ?? {}),
  };

  const workingDir = layer.workingDir ? layer.workingDir : from.WorkingDir;
  if (workingDir !== undefined && /^\/+proc(\/|$)/.test(workingDir)) {
    throw new BuildError(`Cannot use working_dir "${workingDir}": it is under /proc`, {
      code: "build.bad-working-dir",
      context: { layer: layer.name },
    });
  }
  const user = layer.runtimeUser ? layer.runtimeUser : from.User;

  // null only where it clears an inherited value; otherwise the key is left out.
  const config: ContainerConfig = {
    ...from,
    Env: env,
    Entrypoint: entrypoint === null && from.Entrypoint == null ? undefined : entrypoint,
    Cmd: cmd === null && from.Cmd == null ? undefined : cmd,
    ...(Object.keys(volumes).length > 0 ? { Volumes: volumes } : { Volumes: undefined }),
    ...(Object.keys(labels).length > 0 ? { Labels: labels } : { Labels: undefined }),
    WorkingDir: workingDir,
    User: user,
  };

  const created = createdTime(opts);
  const author = opts.sourceDateEpoch !== undefined ? "stacker" : (opts.author ?? "stacker");
  const history: HistoryEntry[] = [...(base?.history ?? [])];
  for (const l of opts.newLayers) history.push({ created, created_by: l.createdBy, author });
  history.push({ created, created_by: "stacker build", author, empty_layer: true });

  return {
    created,
    author,
    architecture: layer.arch ?? hostArchitecture(),
    os: layer.os ?? hostOs(),
    ...(base?.variant !== undefined && layer.arch === undefined ? { variant: base.variant } : {}),
    config: stripUndefined(config),
    rootfs: {
      type: "layers",
      diff_ids: [...(base?.rootfs.diff_ids ?? []), ...opts.newLayers.map((l) => l.diffId)],
    },
    history,
  };
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
