/**
 * The CLI driver: parse argv, resolve global options, make the logger, dispatch to one command,
 * turn any error into one line on stderr (the cause chain with --debug) and an exit code.
 * Start-up cost matters here: parsing and help use the command table's metadata only, and the
 * chosen command's module is imported just before it runs (after any re-exec into a user namespace,
 * so the outer process never loads it).
 */
import { causeChain, errorLine, StackerError } from "../util/errors.ts";
import { Logger, type LogLevel } from "../util/log.ts";
import { redactSecrets } from "../util/secrets.ts";
import { registerFlagSecrets, restoreSecretArgs, SECRET_ARGS_ENV, splitSecretArgs } from "./_secret_args.ts";
import { STACKER_VERSION } from "../util/version.ts";
import { parseArgs, withDefaults } from "./_args.ts";
import { GLOBAL_FLAGS } from "./_flags.ts";
import { resolveGlobals } from "./_globals.ts";
import { COMMANDS, findCommand } from "./mod.ts";
import type { CommandMeta, FlagSpec } from "./types.ts";

export interface CliIo {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly signal?: AbortSignal;
}

function flagLine(f: FlagSpec): string {
  const names = `${f.alias ? `-${f.alias}, ` : "    "}--${f.name}${f.type === "boolean" ? "" : " VALUE"}`;
  const def = f.default !== undefined ? ` (default ${JSON.stringify(f.default)})` : "";
  return `  ${names.padEnd(34)} ${f.help}${def}${f.type === "strings" ? " [repeatable]" : ""}`;
}

export function mainHelp(): string {
  const cmds = COMMANDS.filter((c) => !c.hidden).map((c) =>
    `  ${[c.name, ...(c.aliases ?? [])].join(", ").padEnd(18)} ${c.summary}`
  );
  return [
    "stacker-ts: build OCI images without privilege from a stacker.yaml",
    "",
    "Usage: stacker [global flags] COMMAND [flags] [args]",
    "",
    "Commands:",
    ...cmds,
    "",
    "Global flags (before or after the command):",
    ...GLOBAL_FLAGS.filter((f) => !f.hidden).map(flagLine),
    "",
    'Run "stacker COMMAND --help" for a command\'s flags.',
  ].join("\n");
}

export function commandHelp(c: CommandMeta): string {
  return [
    `stacker ${c.name}${c.usage ? " " + c.usage : ""}`,
    "",
    c.summary,
    ...(c.aliases?.length ? ["", `Aliases: ${c.aliases.join(", ")}`] : []),
    ...(c.flags.length ? ["", "Flags:", ...c.flags.filter((f) => !f.hidden).map(flagLine)] : []),
  ].join("\n");
}

function makeLogger(level: LogLevel, io: CliIo, logFile: string | undefined, timestamps: boolean): Logger {
  if (!logFile) return new Logger({ level, timestamps, sink: (l) => io.stderr(l + "\n") });
  const file = Deno.openSync(logFile, { append: true, create: true });
  const enc = new TextEncoder();
  return new Logger({ level, timestamps, sink: (l) => file.writeSync(enc.encode(l + "\n")) });
}

/** Runs the CLI on `argv` (without the program name); returns the exit code. Never throws. */
export async function runCli(givenArgv: readonly string[], givenIo: CliIo): Promise<number> {
  // The re-executed child gets its secret arguments through the environment, not argv.
  const restored = restoreSecretArgs(givenArgv, givenIo.env);
  const argv = restored.argv;
  const io: CliIo = { ...givenIo, env: restored.env };
  let debug = argv.includes("--debug");
  try {
    const parsed = parseArgs(argv, GLOBAL_FLAGS, (name) => findCommand(name)?.flags);
    registerFlagSecrets(parsed.flags, io.env);
    if (parsed.flags["version"] && parsed.command === undefined) {
      const { versionLine } = await import("./version.ts");
      io.stdout(`${await versionLine()}\n`);
      return 0;
    }
    if (parsed.command === undefined) {
      io.stdout(mainHelp() + "\n");
      return 0;
    }
    const cmd = findCommand(parsed.command);
    if (!cmd) {
      throw new StackerError(`Cannot run "${parsed.command}": no such command (see "stacker --help")`, {
        code: "cli.unknown-command",
      });
    }
    // As stacker (urfave/cli runs the app's Before ahead of a command's help): the global flags are
    // checked and the logger made first, so `--debug --quiet build --help` fails and
    // `--debug build --help` logs the version line (scripts grep for "stacker version").
    const globals = await resolveGlobals(parsed.flags, io.env, io.cwd);
    debug = globals.debug;
    const epoch = io.env.SOURCE_DATE_EPOCH;
    if (epoch !== undefined && epoch !== "" && !/^\d+$/.test(epoch)) {
      throw new StackerError(`invalid SOURCE_DATE_EPOCH value "${epoch}": expected whole seconds`, {
        code: "cli.source-date-epoch",
      });
    }
    const level: LogLevel = globals.debug ? "debug" : globals.quiet ? "error" : "info";
    const log = makeLogger(level, io, globals.logFile, Boolean(parsed.flags["log-timestamp"]));
    // The re-executed child would repeat it: the outer process has logged it already.
    if (!globals.internalUserns) log.debug(`stacker version ${STACKER_VERSION}`);
    if (parsed.flags["help"]) {
      io.stdout(commandHelp(cmd) + "\n");
      return 0;
    }
    if (!cmd.noUserns && !globals.internalUserns) {
      if (Deno.uid() === 0 && cmd.name !== "clean") {
        // clean drops to the directory's owner itself, after what only root can undo.
        const { refuseForeignDirs } = await import("./_root_guard.ts");
        refuseForeignDirs(cmd.name, globals);
      }
      // userns.ts alone, not runtime/mod.ts: the barrel also loads the container runner (FFI,
      // node:fs; ~25 ms) that only the commands which run containers need, and they import it.
      const { checkStackerDirOwner, needsUserns, reexecInUserns } = await import("../runtime/userns.ts");
      // Outside the user namespace: inside it a root-owned build.cache would show as uid 65534.
      // Root may clean up after any user (a btrfs loopback only root can unmount, for one).
      if (!(cmd.name === "clean" && Deno.uid() === 0)) {
        await checkStackerDirOwner(globals.stackerDir, Deno.uid() ?? 0);
      }
      if (needsUserns({ env: io.env, internalUserns: globals.internalUserns })) {
        const { argv: shown, secret } = splitSecretArgs(argv);
        const env = secret.length > 0 ? { ...io.env, [SECRET_ARGS_ENV]: JSON.stringify(secret) } : io.env;
        return await reexecInUserns(shown, { env, log });
      }
    }
    const impl = await cmd.load();
    const code = await impl.run({
      global: globals,
      flags: withDefaults(cmd.flags, parsed.flags),
      args: parsed.positionals,
      log,
      signal: io.signal ?? new AbortController().signal,
      env: io.env,
      argv,
      print: (line) => io.stdout(line + "\n"),
    });
    return code ?? 0;
  } catch (err) {
    io.stderr(redactSecrets(`error: ${errorLine(err)}\n`));
    if (debug) {
      for (const line of causeChain(err).slice(1)) io.stderr(redactSecrets(`  caused by: ${line}\n`));
      if (err instanceof Error && err.stack) io.stderr(redactSecrets(err.stack + "\n"));
    }
    return err instanceof StackerError ? err.exitCode : 1;
  }
}
