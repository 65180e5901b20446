/**
 * The rootfs a layer's run script sees (steps 4-5 of a layer): its overlay dirs and dest imports,
 * each generated as its own layer before the rootfs exists, then a snapshot stacked from the base's
 * layers and those (so the run sees them and the run's own diff does not repeat them). A tar base has
 * no layers to stack on: it is unpacked and the overlay dirs are copied in.
 */
import { BuildError } from "../util/errors.ts";
import { storeGenerated } from "./layer_conversion.ts";
import type { AddedLayer, BuildLayerContext, StartImage } from "./layer_context.ts";
import type { Snapshot } from "../storage/mod.ts";
import type { FetchedBase } from "../transport/mod.ts";
import type { LayerDefinition, OverlayDirSpec } from "../stackerfile/mod.ts";

/**
 * One layer per overlay dir (in order; none for a dir that adds nothing), stored in the output
 * layout with `created_by` "stacker overlay dir for <layer>". A dest other than "/" is staged in a
 * scratch tree under the stacker dir first; scratch trees are removed on every path.
 */
export async function generateOverlayLayers(
  ctx: BuildLayerContext,
  opts: { readonly layer: string; readonly overlayDirs: readonly OverlayDirSpec[] },
): Promise<AddedLayer[]> {
  const svc = ctx.services;
  const added: AddedLayer[] = [];
  const emptyBase = await Deno.makeTempDir({ dir: ctx.stackerDir, prefix: ".empty-" });
  try {
    for (const o of opts.overlayDirs) {
      const staged = o.dest === "/" ? o.source : await stageAt(o, ctx.stackerDir);
      try {
        const gen = await svc.generateLayer(
          { kind: "trees", base: emptyBase, rootfs: staged },
          { sourceDateEpoch: ctx.sourceDateEpoch },
        );
        if (gen) {
          added.push({
            ...(await storeGenerated(svc.output, gen)),
            createdBy: `stacker overlay dir for ${opts.layer}`,
          });
        }
      } finally {
        if (staged !== o.source) await Deno.remove(staged, { recursive: true }).catch(() => {});
      }
    }
  } finally {
    await Deno.remove(emptyBase, { recursive: true }).catch(() => {});
  }
  return added;
}

export interface PrepareRootfsOptions {
  readonly def: LayerDefinition;
  readonly base: FetchedBase;
  /** The image the rootfs is unpacked from (the tar one when the build has a tar type). */
  readonly start: StartImage;
  /** From `generateOverlayLayers`, stacked on the base's layers. */
  readonly overlayLayers: readonly AddedLayer[];
}

/**
 * The layer's writable snapshot, named after the layer: a chain of unpacked layers (base image or
 * built parent, plus the overlay layers), a committed parent as it is, or nothing (scratch; a tar
 * base unpacked into it). Throws BuildError `build.bad-base` when the start image's layers and
 * diff_ids disagree, `build.overlay-copy` when an overlay dir cannot be copied onto a tar base.
 */
export async function prepareRootfs(
  ctx: BuildLayerContext,
  opts: PrepareRootfsOptions,
): Promise<Snapshot> {
  const svc = ctx.services;
  const { def, base, start } = opts;
  const overlayCount = opts.overlayLayers.length;
  const overlayLayers = opts.overlayLayers.map((l) => ({
    desc: l.desc,
    diffId: l.diffId,
    source: svc.output,
  }));
  if (
    base.kind === "image" || (base.kind === "built" && overlayCount > 0) ||
    (base.kind === "scratch" && overlayCount > 0)
  ) {
    const m = start.manifest;
    const c = start.config;
    const baseLayers = (m?.layers ?? []).map((desc, i) => ({
      desc,
      diffId: c!.rootfs.diff_ids[i],
      source: start.source!,
    }));
    if (m && m.layers.length !== c?.rootfs.diff_ids.length) {
      throw new BuildError(
        `Cannot use the base of "${def.name}": ${m.layers.length} layers but ${c?.rootfs.diff_ids.length} diff_ids`,
        { code: "build.bad-base", context: { layer: def.name } },
      );
    }
    const stack = [...baseLayers, ...overlayLayers];
    const chain = stack.map((l) => l.desc.digest);
    await svc.storage.ensureLayers(
      chain,
      (dir, whiteouts, i) =>
        svc.unpackLayer(() => stack[i].source.openBlob(stack[i].desc), dir, {
          mediaType: stack[i].desc.mediaType,
          digest: stack[i].desc.digest,
          diffId: stack[i].diffId,
          whiteouts,
        }),
    );
    return await svc.storage.prepare(def.name, { chain });
  }
  if (base.kind === "built") return await svc.storage.prepare(def.name, { built: base.tag });
  const snapshot = await svc.storage.prepare(def.name, { scratch: true });
  if (base.kind === "tar") {
    const dir = writableDir(snapshot);
    await svc.unpackTar(base.path, dir);
    // A tar base has no layer of its own to stack under the overlay dirs: their layers are applied
    // on top of it by the unpacker, so a symlink the tarball planted (`etc/passwd -> /host/file`)
    // is replaced inside the rootfs, never followed to the host; the run's layer repeats them
    // (stacker does the same for tar bases).
    for (const l of overlayLayers) {
      await svc.unpackLayer(() => l.source.openBlob(l.desc), dir, {
        mediaType: l.desc.mediaType,
        digest: l.desc.digest,
        diffId: l.diffId,
        whiteouts: snapshot.diff.kind === "overlay-upper" ? "overlay" : "apply",
      });
    }
  }
  return snapshot;
}

/** The rootfs directory of a snapshot that host-side writes go to (upper dir or tree). */
function writableDir(s: Snapshot): string {
  return s.diff.kind === "overlay-upper" ? s.diff.upper : s.diff.rootfs;
}

async function copyTreeInto(src: string, dst: string): Promise<void> {
  await Deno.mkdir(dst, { recursive: true });
  const r = await new Deno.Command("cp", {
    args: ["-a", "--reflink=auto", `${src}/.`, `${dst}/`],
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new BuildError(
      `Cannot copy "${src}" into the rootfs: ${new TextDecoder().decode(r.stderr).trim()}`,
      {
        code: "build.overlay-copy",
      },
    );
  }
}

/** An overlay dir whose dest is not "/" staged as a tree rooted at "/". */
async function stageAt(o: OverlayDirSpec, stackerDir: string): Promise<string> {
  const root = await Deno.makeTempDir({ dir: stackerDir, prefix: ".overlay-" });
  await copyTreeInto(o.source, root + o.dest.replace(/\/+$/, ""));
  return root;
}
