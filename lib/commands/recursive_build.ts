/**
 * `stacker recursive-build`: finds stacker files under `-d` (matching `-p`, no symlink following),
 * loads them with their prerequisites and orders them. Building is the build stage's job: the lead
 * passes a `build` function to `makeRecursiveBuildCommand`; without one, the order is printed and
 * the command fails with NotImplementedError.
 */
import {
  type BuildPlan,
  DEFAULT_STACKER_FILE_PATTERN,
  findStackerFiles,
  loadStackerFiles,
} from "../stackerfile/mod.ts";
import { buildOrderLines } from "../stackerfile/mod.ts";
import { NotImplementedError, StackerfileError } from "../util/errors.ts";
import { RECURSIVE_BUILD_META } from "./_meta.ts";
import { secretSubstitutions } from "./_secret_args.ts";
import { build } from "../builder/mod.ts";
import { buildOptionsOf } from "./build.ts";
import type { CommandContext, CommandDef } from "./types.ts";

/** Builds an ordered plan (lib/builder). */
export type BuildPlanFn = (plan: BuildPlan, ctx: CommandContext) => Promise<void>;

/** The ordered plan of the stacker files `recursive-build` finds with the flags of `ctx`. */
export async function recursivePlan(ctx: CommandContext): Promise<BuildPlan> {
  const f = ctx.flags;
  // The default is the cwd, as in stacker, also with --work-dir (that is where output goes, not input).
  const dir = (f["search-dir"] as string | undefined) || Deno.cwd();
  const pattern = (f["stacker-file-pattern"] as string | undefined) || DEFAULT_STACKER_FILE_PATTERN;
  const files = await findStackerFiles(dir, pattern);
  if (files.length === 0) {
    throw new StackerfileError(`Cannot build: no stacker files under "${dir}" match "${pattern}"`, {
      code: "stackerfile.none-found",
      context: { file: dir, pattern },
    });
  }
  return await loadStackerFiles(files, {
    substitute: [
      ...secretSubstitutions(f, ctx.env),
      ...(((f.substitute) as readonly string[] | undefined) ?? []),
    ],
    substituteFile: f["substitute-file"] as string | undefined,
    requireHash: Boolean(f["require-hash"]),
    dirs: {
      rootsDir: ctx.global.rootsDir,
      stackerDir: ctx.global.stackerDir,
      ociDir: ctx.global.ociDir,
      workDir: ctx.global.workDir,
    },
    log: ctx.log,
  });
}

/** The command; `build` builds the plan (default: none yet, see the module doc). */
export function makeRecursiveBuildCommand(build?: BuildPlanFn): CommandDef {
  return {
    ...RECURSIVE_BUILD_META,
    async run(ctx) {
      const plan = await recursivePlan(ctx);
      const lines = buildOrderLines(plan);
      for (const l of lines) ctx.log.debug(l);
      if (ctx.flags["order-only"]) {
        for (const l of lines) ctx.print(l);
        return 0;
      }
      if (!build) {
        for (const l of lines) ctx.print(l);
        throw new NotImplementedError("recursive-build (building the ordered files)");
      }
      await build(plan, ctx);
      return 0;
    },
  };
}

/** Builds the files of an ordered plan with lib/builder, with the flags `build` takes. */
export const buildPlanFiles: BuildPlanFn = async (plan, ctx) => {
  await build(buildOptionsOf(ctx, plan.files.map((file) => file.path)));
};

export const recursiveBuildCommand: CommandDef = makeRecursiveBuildCommand(buildPlanFiles);
