/**
 * `stacker chroot [LAYER] [CMD]` (alias `exec`): an interactive command (default /bin/sh) in a
 * container on a throw-away writable snapshot of a built layer, with the build's mounts (imports,
 * binds) and environment; changes are discarded. The layer defaults to the first one in the stacker
 * file; without a stacker file the layer's committed rootfs is used with no binds (best effort, as
 * stacker does). The hidden `--rootfs DIR` runs in an existing rootfs directory, keeping changes.
 */
import { buildEnvironment, type BuildEnvLayer, runInteractive } from "../runtime/mod.ts";
import { type LayerSpec, loadStackerFiles } from "../stackerfile/mod.ts";
import { openStorage, recordedStorageType } from "../storage/mod.ts";
import { StackerError } from "../util/errors.ts";
import { CHROOT_META } from "./_meta.ts";
import { secretSubstitutions } from "./_secret_args.ts";
import type { CommandContext, CommandDef } from "./types.ts";

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** The layer `name` (or the first layer) of the stacker file, or undefined without a file. */
async function layerOf(ctx: CommandContext, name: string | undefined): Promise<LayerSpec | undefined> {
  const file = (ctx.flags["stacker-file"] as string | undefined) ?? "stacker.yaml";
  if (!/^https?:\/\//.test(file) && !(await exists(file))) return undefined;
  const plan = await loadStackerFiles([file], {
    substitute: [
      ...secretSubstitutions(ctx.flags, ctx.env),
      ...(((ctx.flags.substitute) as readonly string[] | undefined) ?? []),
    ],
    substituteFile: ctx.flags["substitute-file"] as string | undefined,
    requireHash: false,
    dirs: { ociDir: ctx.global.ociDir, stackerDir: ctx.global.stackerDir, rootsDir: ctx.global.rootsDir },
    log: ctx.log,
  });
  const layers = plan.layers.filter((l) => l.file === plan.files.at(-1)?.path);
  const found = name === undefined ? layers[0] : plan.layers.find((l) => l.name === name);
  if (!found) {
    throw new StackerError(`Cannot chroot into "${name}": no such layer in "${file}"`, {
      code: "cli.no-layer",
      context: { layer: name, file },
    });
  }
  return found;
}

export const chrootCommand: CommandDef = {
  ...CHROOT_META,
  async run(ctx) {
    const [layerArg, cmd, ...rest] = ctx.args;
    if (rest.length > 0) {
      throw new StackerError("Cannot run chroot: give at most a layer and one command word", {
        code: "cli.usage",
      });
    }
    const rootfs = ctx.flags["rootfs"] as string | undefined;
    if (rootfs) {
      const abs = rootfs.startsWith("/") ? rootfs : `${Deno.cwd()}/${rootfs}`;
      const name = layerArg ?? "chroot";
      const r = await runInteractive({
        layer: name,
        lxcRootfs: { path: `dir:${abs}` },
        stackerDir: ctx.global.stackerDir,
        env: buildEnvironment({ name }, ctx.env),
        log: ctx.log,
        signal: ctx.signal,
      }, cmd ?? "/bin/sh");
      return r.exitCode;
    }
    const spec = await layerOf(ctx, layerArg);
    const name = spec?.name ?? layerArg;
    if (!name) {
      throw new StackerError("Cannot chroot: no stacker file here and no layer named", {
        code: "cli.no-layer",
      });
    }
    const type = await recordedStorageType(ctx.global.stackerDir);
    if (!type) {
      throw new StackerError(
        `Cannot chroot into "${name}": nothing was built in "${ctx.global.stackerDir}"`,
        {
          code: "cli.not-built",
          context: { layer: name },
        },
      );
    }
    const storage = await openStorage({
      rootsDir: ctx.global.rootsDir,
      stackerDir: ctx.global.stackerDir,
      type,
      log: ctx.log,
    });
    await using snap = await storage.tempSnapshot(name);
    const importsDir = `${ctx.global.stackerDir}/imports/${name}`;
    const envLayer: BuildEnvLayer = spec
      ? { name, buildEnv: spec.buildEnv, buildEnvPassthrough: spec.buildEnvPassthrough }
      : { name };
    const r = await runInteractive({
      layer: name,
      lxcRootfs: snap.lxcRootfs,
      stackerDir: ctx.global.stackerDir,
      env: buildEnvironment(envLayer, ctx.env),
      binds: spec?.binds?.map((b) => ({ source: b.source, dest: b.dest })),
      importsDir: (await exists(importsDir)) ? importsDir : undefined,
      legacyImport: spec?.legacyImport,
      log: ctx.log,
      signal: ctx.signal,
    }, cmd ?? "/bin/sh");
    return r.exitCode;
  },
};
