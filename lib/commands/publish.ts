/**
 * `stacker publish`: copies built images from the output layout to `docker://host[/path]` or
 * `oci:<dir>` (spec §2.2). The layers come from the stacker files (`-f`, or every file under `-d`
 * matching `-p`); the copying is `transport.publish`.
 */
import { resolve } from "../util/path.ts";
import { loadPlan, staleLayers } from "../build/mod.ts";
import { OciLayout } from "../oci/mod.ts";
import { publish } from "../transport/mod.ts";
import { BuildError } from "../util/errors.ts";
import { makeProgress } from "../util/progress.ts";
import { PUBLISH_META } from "./_meta.ts";
import type { CommandDef } from "./types.ts";

/** Stacker files under `dir` whose full path matches `pattern` (symlinks are not followed). */
export async function findStackerFiles(dir: string, pattern: RegExp): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.isFile && pattern.test(p)) out.push(p);
    }
  };
  await walk(resolve(dir));
  return out.sort();
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
    const searchDir = f["search-dir"] as string | undefined;
    const files = searchDir
      ? await findStackerFiles(
        searchDir,
        new RegExp((f["stacker-file-pattern"] as string) ?? "\\/stacker.yaml$"),
      )
      : [resolve((f["stacker-file"] as string | undefined) ?? "stacker.yaml")];
    const plan = await loadPlan({
      files,
      substitute: (f.substitute as readonly string[] | undefined) ?? [],
      substituteFile: f["substitute-file"] as string | undefined,
      requireHash: false,
      dirs: { ociDir: ctx.global.ociDir, stackerDir: ctx.global.stackerDir, rootsDir: ctx.global.rootsDir },
      log: ctx.log,
    });
    const wanted = new Set(files.map((p) => resolve(p)));
    const images = plan
      .filter((p) => wanted.has(p.file))
      .map((p) => ({ layer: p.def.name, file: p.file, buildOnly: p.def.buildOnly }));
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
