/**
 * The command table `cli.ts` dispatches on. It holds metadata only (from _meta.ts, which imports
 * nothing heavy) and a `load` that imports the command's module when that command runs: flags are
 * parsed and `--version`/`--help` answered without loading any command, and `stacker inspect` does
 * not load the builder. A static import of a command module here would undo that
 * (tests/commands/mod_test.ts checks the import graph).
 *
 * Registering a command, three steps:
 *   1. its metadata in _meta.ts: `export const X_META: CommandMeta = { name: "x", summary, flags }`;
 *   2. its module x.ts spreads it: `export const xCommand: CommandDef = { ...X_META, async run(ctx) {…} }`;
 *   3. one line below: `lazy(X_META, async () => (await import("./x.ts")).xCommand),`
 * A command that has not landed yet loads `stubCommand(X_META)` instead (exit 2, NotImplementedError).
 */
import {
  BUILD_META,
  CHECK_META,
  CHROOT_META,
  CLEAN_META,
  CONVERT_META,
  GC_META,
  GRAB_META,
  INSPECT_META,
  INTERNAL_GO_META,
  INTERNAL_RUN_META,
  PUBLISH_META,
  RECURSIVE_BUILD_META,
  UNPRIV_SETUP_META,
  VERSION_META,
} from "./_meta.ts";
import type { CommandDef, CommandEntry, CommandMeta } from "./types.ts";

/** A table entry: `meta` now, the implementation from `load` when the command runs. */
function lazy(meta: CommandMeta, load: () => Promise<CommandDef>): CommandEntry {
  return { ...meta, load };
}

/** Every command, in help order. */
export const COMMANDS: readonly CommandEntry[] = [
  lazy(BUILD_META, async () => (await import("./build.ts")).buildCommand),
  lazy(RECURSIVE_BUILD_META, async () => (await import("./recursive_build.ts")).recursiveBuildCommand),
  lazy(PUBLISH_META, async () => (await import("./publish.ts")).publishCommand),
  lazy(INSPECT_META, async () => (await import("./inspect.ts")).inspectCommand),
  lazy(GRAB_META, async () => (await import("./grab.ts")).grabCommand),
  lazy(CHROOT_META, async () => (await import("./chroot.ts")).chrootCommand),
  lazy(CLEAN_META, async () => (await import("./clean.ts")).cleanCommand),
  lazy(GC_META, async () => (await import("./gc.ts")).gcCommand),
  lazy(CHECK_META, async () => (await import("./check.ts")).checkCommand),
  lazy(UNPRIV_SETUP_META, async () => (await import("./unpriv_setup.ts")).unprivSetupCommand),
  lazy(CONVERT_META, async () => (await import("./convert.ts")).convertCommand),
  lazy(VERSION_META, async () => (await import("./version.ts")).versionCommand),
  lazy(INTERNAL_RUN_META, async () => (await import("./internal_run.ts")).internalRunCommand),
  lazy(INTERNAL_GO_META, async () => (await import("./internal_go.ts")).internalGoCommand),
];

/** The command called `name` or one of its aliases. */
export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}

export { GLOBAL_FLAGS } from "./_flags.ts";
export { parseArgs, withDefaults } from "./_args.ts";
export { resolveGlobals } from "./_globals.ts";
export type {
  CommandContext,
  CommandDef,
  CommandEntry,
  CommandMeta,
  FlagSpec,
  GlobalOptions,
  StorageType,
} from "./types.ts";
