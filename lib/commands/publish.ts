/**
 * `stacker publish`: copies built images from the output layout to `docker://host[/path]` or
 * `oci:<dir>` (spec §2.2). The layers come from the stacker files (`-f`, or every file under `-d`
 * matching `-p`); the copying is `transport.publish`.
 */
import { join, resolve } from "../util/path.ts";
import { loadPlan, staleLayers } from "../builder/mod.ts";
import { OciLayout } from "../oci/mod.ts";
import { DEFAULT_STACKER_FILE_PATTERN, findStackerFiles } from "../stackerfile/mod.ts";
import { publish } from "../transport/mod.ts";
import { BuildError } from "../util/errors.ts";
import { makeProgress } from "../util/progress.ts";
import { PUBLISH_META } from "./_meta.ts";
import { secretSubstitutions } from "./_secret_args.ts";
import type { CommandDef } from "./types.ts";

/**
 * The stacker files to publish, absolute (to load them) with the path as the user spelled it (for
 * `would publish: <file> …` and `will not publish: <file> …`, which scripts match as stacker prints
 * them: the `-f` argument as given, or the `-d` directory joined with the path found under it).
 */
export async function publishFiles(
  stackerFile: string,
  searchDir: string | undefined,
  pattern: string,
): Promise<{ abs: string; shown: string }[]> {
  if (!searchDir) return [{ abs: resolve(stackerFile), shown: stackerFile }];
  const found = await findStackerFiles(searchDir, pattern);
  // findStackerFiles walks the real path of the directory: show the part below it under -d as given.
  const root = await Deno.realPath(searchDir);
  return found.map((abs) => ({
    abs,
    shown: abs.startsWith(root + "/") ? join(searchDir, abs.slice(root.length + 1)) : abs,
  }));
}

function usage(msg: string): BuildError {
  return new BuildError(`Cannot publish: ${msg}`, { code: "publish.bad-flags" });
}

export const publishCommand: CommandDef = {
  ...PUBLISH_META,
  async run(ctx) {
    const f = ctx.flags;
    const url = f.url as string | undefined;
    const tags = (f.tag as readonly string[] | undefined) ?? [];
    if (!url) throw usage("--url is required");
    if (tags.length === 0) throw usage("at least one --tag is required");
    const username = f.username as string | undefined, password = f.password as string | undefined;
    if ((username === undefined) !== (password === undefined)) {
      throw usage("--username and --password go together");
    }
    const found = await publishFiles(
      (f["stacker-file"] as string | undefined) ?? "stacker.yaml",
      (f["search-dir"] as string | undefined) || undefined,
      (f["stacker-file-pattern"] as string | undefined) ?? DEFAULT_STACKER_FILE_PATTERN,
    );
    const files = found.map((x) => x.abs);
    const shown = new Map(found.map((x) => [x.abs, x.shown]));
    const plan = await loadPlan({
      files,
      substitute: [
        ...secretSubstitutions(f, ctx.env),
        ...(((f.substitute) as readonly string[] | undefined) ?? []),
      ],
      substituteFile: f["substitute-file"] as string | undefined,
      requireHash: false,
      dirs: { ociDir: ctx.global.ociDir, stackerDir: ctx.global.stackerDir, rootsDir: ctx.global.rootsDir },
      log: ctx.log,
      env: ctx.env,
    });
    const images = plan
      .filter((p) => shown.has(p.file))
      .map((p) => ({ layer: p.def.name, file: shown.get(p.file), buildOnly: p.def.buildOnly }));
    const only = f.image as readonly string[] | undefined;
    const layerTypes = f["layer-type"] as readonly string[] | undefined;
    // One cache check for every layer to publish (stale dependencies make their children stale).
    let stale: Promise<ReadonlyMap<string, string>> | undefined;
    const needsRebuild = async (layer: string) => {
      stale ??= staleLayers(plan, {
        ociDir: ctx.global.ociDir,
        stackerDir: ctx.global.stackerDir,
        rootsDir: ctx.global.rootsDir,
        storageType: ctx.global.storageType,
        layerTypes: layerTypes && layerTypes.length > 0 ? layerTypes : ["tar"],
        layers: images.filter((i) => !i.buildOnly && (!only?.length || only.includes(i.layer)))
          .map((i) => i.layer),
        env: ctx.env,
        log: ctx.log,
        signal: ctx.signal,
      });
      return (await stale).has(layer);
    };
    await publish({
      layout: await OciLayout.open(ctx.global.ociDir),
      url,
      tags,
      images,
      only,
      layerTypes,
      credentials: username !== undefined ? { username, password: password! } : undefined,
      skipTls: Boolean(f["skip-tls"]),
      showOnly: Boolean(f["show-only"]),
      force: Boolean(f.force),
      needsRebuild,
      env: ctx.env,
      // bars per blob on a terminal; otherwise transport logs one summary line per image
      progress: ctx.global.progress ? makeProgress({ bars: true, log: ctx.log }) : undefined,
      log: ctx.log,
      signal: ctx.signal,
    });
    return 0;
  },
};
