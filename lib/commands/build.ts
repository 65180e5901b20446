/** `stacker build`: every layer of a stacker file (and its prerequisites), through lib/builder. */
import { build, type BuildOptions } from "../builder/mod.ts";
import { orderOnly } from "../stackerfile/mod.ts";
import { BuildError } from "../util/errors.ts";
import { makeProgress } from "../util/progress.ts";
import { BUILD_META } from "./_meta.ts";
import { secretSubstitutions } from "./_secret_args.ts";
import type { CommandContext, CommandDef } from "./types.ts";

/** `--shell-fail` and `--on-run-failure` as one value; both with different commands is an error. */
export function onRunFailureOf(flags: CommandContext["flags"]): string | undefined {
  const explicit = flags["on-run-failure"] as string | undefined;
  if (flags["shell-fail"]) {
    if (explicit && explicit !== "/bin/sh") {
      throw new BuildError(`Cannot use --shell-fail with --on-run-failure="${explicit}"`, {
        code: "build.conflicting-flags",
      });
    }
    return "/bin/sh";
  }
  return explicit || undefined;
}

/** The options `build` and `recursive-build` hand lib/builder, from the command's flags. */
export function buildOptionsOf(ctx: CommandContext, stackerFiles: readonly string[]): BuildOptions {
  const f = ctx.flags;
  const layerTypes = (f["layer-type"] as readonly string[] | undefined) ?? [];
  return {
    stackerFiles,
    ociDir: ctx.global.ociDir,
    stackerDir: ctx.global.stackerDir,
    rootsDir: ctx.global.rootsDir,
    storageType: ctx.global.storageType,
    substitute: [
      ...secretSubstitutions(f, ctx.env),
      ...(((f.substitute) as readonly string[] | undefined) ?? []),
    ],
    substituteFile: f["substitute-file"] as string | undefined,
    noCache: Boolean(f["no-cache"]),
    requireHash: Boolean(f["require-hash"]),
    onRunFailure: onRunFailureOf(f),
    annotationsNamespace: (f["annotations-namespace"] as string | undefined) ?? "io.stackeroci",
    layerTypes: layerTypes.length > 0 ? layerTypes : ["tar"],
    verity: !(f["no-verity"] || f["no-squashfs-verity"]),
    env: ctx.env,
    debug: ctx.global.debug,
    log: ctx.log,
    // a bar per base blob on a terminal or with --progress, like publish
    progress: ctx.global.progress ? makeProgress({ bars: true, log: ctx.log }) : undefined,
    lockTimeoutMs: ctx.global.lockTimeoutMs,
    signal: ctx.signal,
  };
}

export const buildCommand: CommandDef = {
  ...BUILD_META,
  async run(ctx) {
    const f = ctx.flags;
    const stackerFile = (f["stacker-file"] as string | undefined) ?? "stacker.yaml";
    if (f["order-only"]) {
      const lines = await orderOnly([stackerFile], {
        substitute: [
          ...secretSubstitutions(f, ctx.env),
          ...(((f.substitute) as readonly string[] | undefined) ?? []),
        ],
        substituteFile: f["substitute-file"] as string | undefined,
        requireHash: Boolean(f["require-hash"]),
        dirs: { ociDir: ctx.global.ociDir, stackerDir: ctx.global.stackerDir, rootsDir: ctx.global.rootsDir },
        log: ctx.log,
      });
      for (const l of lines) ctx.print(l);
      return 0;
    }
    await build(buildOptionsOf(ctx, [stackerFile]));
    return 0;
  },
};
