/** The environment of a layer's `run` script (spec §1.10): not the image's Env. */
import { RuntimeError } from "../util/errors.ts";

/** PATH every run starts with. */
export const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** Host variables passed through when a layer lists no `build_env_passthrough`. */
export const DEFAULT_PASSTHROUGH: readonly string[] = [
  "http_proxy",
  "https_proxy",
  "ftp_proxy",
  "no_proxy",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "FTP_PROXY",
  "NO_PROXY",
  "TERM",
  "SOURCE_DATE_EPOCH",
];

/** The parts of a layer definition the run environment depends on. */
export interface BuildEnvLayer {
  readonly name: string;
  readonly buildEnv?: Readonly<Record<string, string>>;
  /** Regexes matched against whole host variable names. */
  readonly buildEnvPassthrough?: readonly string[];
}

/**
 * `PATH`, then host variables whose names fully match a `build_env_passthrough` regex (or the
 * default list), then `build_env` (overriding), then `STACKER_LAYER_NAME`. Empty values are skipped.
 * Throws RuntimeError `runtime.bad-passthrough` for a regex that does not compile.
 */
export function buildEnvironment(
  layer: BuildEnvLayer,
  hostEnv: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = { PATH: DEFAULT_PATH };
  const patterns = layer.buildEnvPassthrough ?? [];
  let match: (name: string) => boolean;
  if (patterns.length === 0) {
    const names = new Set(DEFAULT_PASSTHROUGH);
    match = (n) => names.has(n);
  } else {
    const res = patterns.map((p) => {
      try {
        return new RegExp(`^(?:${p})$`);
      } catch (cause) {
        throw new RuntimeError(
          `Cannot use build_env_passthrough "${p}" of "${layer.name}": not a valid regex`,
          {
            code: "runtime.bad-passthrough",
            cause,
            context: { layer: layer.name, pattern: p },
          },
        );
      }
    });
    match = (n) => res.some((r) => r.test(n));
  }
  for (const name of Object.keys(hostEnv).sort()) {
    if (match(name) && hostEnv[name] !== "") env[name] = hostEnv[name];
  }
  for (const [k, v] of Object.entries(layer.buildEnv ?? {})) {
    if (v === "") delete env[k];
    else env[k] = v;
  }
  env.STACKER_LAYER_NAME = layer.name;
  return env;
}
