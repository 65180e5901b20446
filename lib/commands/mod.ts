/**
 * The command table `cli.ts` dispatches on. A command that has landed replaces its stub here.
 */
import { STUB_COMMANDS } from "./_stubs.ts";
import { versionCommand } from "./version.ts";
import { internalRunCommand } from "./internal_run.ts";
import { chrootCommand } from "./chroot.ts";
import { checkCommand } from "./check.ts";
import { unprivSetupCommand } from "./unpriv_setup.ts";
import { buildCommand } from "./build.ts";
import { inspectCommand } from "./inspect.ts";
import { grabCommand } from "./grab.ts";
import { gcCommand } from "./gc.ts";
import { cleanCommand } from "./clean.ts";
import { publishCommand } from "./publish.ts";
import { recursiveBuildCommand } from "./recursive_build.ts";
import type { CommandDef } from "./types.ts";

const IMPLEMENTED: readonly CommandDef[] = [
  buildCommand,
  inspectCommand,
  grabCommand,
  gcCommand,
  cleanCommand,
  publishCommand,
  recursiveBuildCommand,
  chrootCommand,
  checkCommand,
  unprivSetupCommand,
  versionCommand,
  internalRunCommand,
];

const implementedNames = new Set(IMPLEMENTED.map((c) => c.name));

/** Every command, implemented ones first replacing their stubs, in help order. */
export const COMMANDS: readonly CommandDef[] = [
  ...STUB_COMMANDS.filter((c) => !implementedNames.has(c.name)),
  ...IMPLEMENTED,
];

/** The command called `name` or one of its aliases. */
export function findCommand(name: string): CommandDef | undefined {
  return COMMANDS.find((c) => c.name === name || c.aliases?.includes(name));
}

export { GLOBAL_FLAGS } from "./_flags.ts";
export { parseArgs, withDefaults } from "./_args.ts";
export { resolveGlobals } from "./_globals.ts";
export type { CommandContext, CommandDef, FlagSpec, GlobalOptions, StorageType } from "./types.ts";
