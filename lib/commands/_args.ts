/**
 * Command-line parsing for the CLI contract: global flags before or after the command, `--flag=v`,
 * `--flag v`, `-f v`, repeatable `strings` flags, `--` to end flags. Pure: takes argv, returns data.
 */
import { StackerError } from "../util/errors.ts";
import type { FlagSpec } from "./types.ts";

export interface ParsedArgs {
  /** The command name as typed (alias not resolved), or undefined. */
  readonly command?: string;
  readonly flags: Record<string, boolean | string | number | string[]>;
  readonly positionals: string[];
}

function usageError(message: string, command?: string): StackerError {
  return new StackerError(message, { code: "cli.usage", context: { command }, exitCode: 1 });
}

/**
 * Parses `argv`. `globals` apply everywhere; `commandFlags(name)` returns the flags of a command
 * (undefined for an unknown command, which is reported by the caller).
 */
export function parseArgs(
  argv: readonly string[],
  globals: readonly FlagSpec[],
  commandFlags: (name: string) => readonly FlagSpec[] | undefined,
): ParsedArgs {
  let command: string | undefined;
  let specs: readonly FlagSpec[] = globals;
  const flags: Record<string, boolean | string | number | string[]> = {};
  const positionals: string[] = [];
  const find = (name: string, short: boolean) =>
    specs.find((s) => (short ? s.alias === name : s.name === name));

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const isLong = arg.startsWith("--") && arg.length > 2;
    const isShort = !isLong && arg.startsWith("-") && arg.length > 1 && arg !== "-";
    if (!isLong && !isShort) {
      if (command === undefined) {
        command = arg;
        specs = [...globals, ...(commandFlags(arg) ?? [])];
      } else {
        positionals.push(arg);
      }
      continue;
    }
    const body = arg.slice(isLong ? 2 : 1);
    const eq = body.indexOf("=");
    let name = eq >= 0 ? body.slice(0, eq) : body;
    let inline: string | undefined = eq >= 0 ? body.slice(eq + 1) : undefined;
    let spec = find(name, isShort);
    let negated = false;
    if (!spec && isLong && name.startsWith("no-")) {
      const positive = find(name.slice(3), false);
      if (positive?.type === "boolean") {
        spec = positive;
        negated = true;
        name = positive.name;
      }
    }
    if (!spec) {
      throw usageError(
        command === undefined
          ? `Cannot parse arguments: unknown global flag "${arg}" (command flags go after the command)`
          : `Cannot parse arguments: unknown flag "${arg}" for command "${command}"`,
        command,
      );
    }
    if (spec.type === "boolean") {
      if (inline !== undefined && !["true", "false"].includes(inline)) {
        throw usageError(`Cannot parse arguments: flag "--${spec.name}" takes no value`, command);
      }
      flags[spec.name] = negated ? false : inline !== "false";
      continue;
    }
    if (inline === undefined) {
      if (i + 1 >= argv.length) {
        throw usageError(`Cannot parse arguments: flag "--${spec.name}" needs a value`, command);
      }
      inline = argv[++i];
    }
    if (spec.type === "number") {
      const n = Number(inline);
      if (!Number.isFinite(n)) {
        throw usageError(
          `Cannot parse arguments: flag "--${spec.name}" needs a number, got "${inline}"`,
          command,
        );
      }
      flags[spec.name] = n;
    } else if (spec.type === "strings") {
      const prev = flags[spec.name];
      flags[spec.name] = [...(Array.isArray(prev) ? prev : []), inline];
    } else {
      flags[spec.name] = inline;
    }
  }
  return { command, flags, positionals };
}

/** Fills defaults for `specs` into `flags` (booleans false, lists empty, declared defaults). */
export function withDefaults(
  specs: readonly FlagSpec[],
  flags: Record<string, boolean | string | number | string[]>,
): Record<string, boolean | string | number | string[] | undefined> {
  const out: Record<string, boolean | string | number | string[] | undefined> = {};
  for (const s of specs) {
    if (s.name in flags) out[s.name] = flags[s.name];
    else if (s.type === "boolean") out[s.name] = false;
    else if (s.type === "strings") out[s.name] = [];
    else out[s.name] = s.default;
  }
  return out;
}
