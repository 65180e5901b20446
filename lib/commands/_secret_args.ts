/**
 * The command-line secrets: `--password` (publish) and `--substitute-secret KEY=VALUE` or
 * `--substitute-secret KEY` (the value from `$KEY`). They are registered with util/secrets.ts as
 * soon as the flags are parsed, and when this program starts itself again in a user namespace
 * they travel in the environment, never in the child's argv (`ps` shows argv to every user).
 */
import { StackerError } from "../util/errors.ts";
import { registerSecret } from "../util/secrets.ts";
import type { FlagValues } from "./types.ts";

/** Environment variable carrying the secret arguments to the re-executed child (JSON list). */
export const SECRET_ARGS_ENV = "STACKER_INTERNAL_SECRET_ARGS";

/** Whether the flag token `tok` (and, for the two-token form, `next`) carries a secret value. */
function secretToken(tok: string, next: string | undefined): 0 | 1 | 2 {
  if (tok === "--password") return 2;
  if (tok.startsWith("--password=")) return 1;
  if (tok === "--substitute-secret" && next?.includes("=")) return 2;
  if (tok.startsWith("--substitute-secret=") && tok.slice(20).includes("=")) return 1;
  return 0;
}

/** `argv` without the tokens that carry secret values, and those tokens (in order). */
export function splitSecretArgs(argv: readonly string[]): { argv: string[]; secret: string[] } {
  const shown: string[] = [];
  const secret: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--") {
      shown.push(...argv.slice(i));
      break;
    }
    const n = secretToken(argv[i], argv[i + 1]);
    if (n === 0) shown.push(argv[i]);
    else secret.push(...argv.slice(i, i + n));
    i += Math.max(n - 1, 0);
  }
  return { argv: shown, secret };
}

/**
 * In the re-executed child: `argv` with the secret arguments from `env` put back, and `env`
 * without them (so they reach no container or program started later).
 */
export function restoreSecretArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
): { argv: string[]; env: Record<string, string> } {
  const { [SECRET_ARGS_ENV]: carried, ...rest } = env;
  if (carried === undefined) return { argv: [...argv], env: rest };
  const extra = JSON.parse(carried) as string[];
  const end = argv.indexOf("--");
  const at = end < 0 ? argv.length : end;
  return { argv: [...argv.slice(0, at), ...extra, ...argv.slice(at)], env: rest };
}

/**
 * The `--substitute-secret` flags as `KEY=VALUE` (values of the `KEY` form from `env`), each value
 * registered as a secret shown as `${{KEY}}`. Throws StackerError `cli.usage` for a `KEY` form
 * whose variable is not set.
 */
export function secretSubstitutions(flags: FlagValues, env: Readonly<Record<string, string>>): string[] {
  const out: string[] = [];
  for (const s of (flags["substitute-secret"] as readonly string[] | undefined) ?? []) {
    const eq = s.indexOf("=");
    const key = eq < 0 ? s : s.slice(0, eq);
    const value = eq < 0 ? env[s] : s.slice(eq + 1);
    if (value === undefined || key === "") {
      throw new StackerError(
        `Cannot use --substitute-secret "${key}": give KEY=VALUE, or KEY with the value in the environment variable KEY`,
        { code: "cli.usage", context: { key } },
      );
    }
    registerSecret(value, `\${{${key}}}`);
    out.push(`${key}=${value}`);
  }
  return out;
}

/** Registers every secret the flags carry (before anything is logged). */
export function registerFlagSecrets(flags: FlagValues, env: Readonly<Record<string, string>>): void {
  if (typeof flags.password === "string") registerSecret(flags.password, "<password>");
  try {
    secretSubstitutions(flags, env);
  } catch { /* reported by the command that uses them */ }
}
