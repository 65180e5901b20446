/**
 * The shape every CLI command module has. `cli.ts` parses global flags and the command's own flags
 * from `flags`, then calls `run` with a `CommandContext`; commands never read `Deno.args`.
 */
import type { Logger } from "../util/log.ts";

export type FlagType = "boolean" | "string" | "strings" | "number";

export interface FlagSpec {
  /** Long name without dashes, e.g. "stacker-file". */
  readonly name: string;
  /** One-letter alias without dash, e.g. "f". */
  readonly alias?: string;
  readonly type: FlagType;
  readonly help: string;
  /** Default for string/number flags; booleans default to false, strings lists to []. */
  readonly default?: string | number;
  readonly hidden?: boolean;
}

export type StorageType = "overlay" | "btrfs" | "copy";

/** Global flags, all directories absolute. */
export interface GlobalOptions {
  readonly workDir?: string;
  readonly ociDir: string;
  readonly stackerDir: string;
  readonly rootsDir: string;
  /** Explicit `--storage-type`, or undefined to use what the stacker dir recorded (default overlay). */
  readonly storageType?: StorageType;
  readonly debug: boolean;
  readonly quiet: boolean;
  readonly logFile?: string;
  readonly progress: boolean;
  /** `--lock-timeout` in ms: how long to wait for another process's lock (undefined: 1 hour). */
  readonly lockTimeoutMs?: number;
  /** Set in the re-executed child that already runs inside the user namespace. */
  readonly internalUserns: boolean;
}

export type FlagValues = Readonly<Record<string, boolean | string | number | readonly string[] | undefined>>;

export interface CommandContext {
  readonly global: GlobalOptions;
  readonly flags: FlagValues;
  /** Positional arguments after the command name. */
  readonly args: readonly string[];
  readonly log: Logger;
  readonly signal: AbortSignal;
  /** The process environment, read once by cli.ts. */
  readonly env: Readonly<Record<string, string>>;
  /** The original argv (after the program name), for re-executing ourselves. */
  readonly argv: readonly string[];
  /** Writes a line of command output (not a log line) to stdout. */
  readonly print: (line: string) => void;
}

/**
 * What the CLI knows about a command without loading its module: enough to parse its flags, print
 * its help and decide about the user namespace. Lives in _meta.ts, which imports nothing heavy.
 */
export interface CommandMeta {
  readonly name: string;
  readonly aliases?: readonly string[];
  readonly summary: string;
  /** Usage after the command name, e.g. "[-f stacker.yaml]". */
  readonly usage?: string;
  readonly hidden?: boolean;
  /** True for commands that must not re-exec into a user namespace (unpriv-setup, internal helpers). */
  readonly noUserns?: boolean;
  readonly flags: readonly FlagSpec[];
}

/** A command's implementation: its metadata (spread from _meta.ts) and `run`. */
export interface CommandDef extends CommandMeta {
  /** Returns the exit code (default 0); throws StackerError on failure. */
  run(ctx: CommandContext): Promise<number | void>;
}

/** An entry of the command table (mod.ts): the metadata now, the implementation on demand. */
export interface CommandEntry extends CommandMeta {
  /** Imports the command's module (and only what it needs) and returns its implementation. */
  load(): Promise<CommandDef>;
}
