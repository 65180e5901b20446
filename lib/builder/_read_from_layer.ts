/**
 * `stacker://<layer>/<path>` reads: a file or tree copied out of a layer this build committed, for
 * imports and tar bases. Read through a throw-away snapshot, so the committed layer is never touched.
 */
import { BuildError } from "../util/errors.ts";
import type { BuildServices } from "./services.ts";
import { resolveInRoot } from "./_in_root.ts";

/**
 * Copies `path` out of the committed layer `layer` to the host path `dest` (`cp -a`, reflinks when
 * the filesystem has them). `path` is resolved inside the layer's rootfs (`resolveInRoot`). Throws
 * BuildError `build.stacker-import-missing` when the layer has no such file, and
 * `build.stacker-import-copy` when the copy fails.
 */
export async function readFromLayer(
  svc: BuildServices,
  src: { readonly layer: string; readonly path: string; readonly dest: string },
): Promise<void> {
  const { layer, path, dest } = src;
  await using snap = await svc.storage.tempSnapshot(layer);
  await svc.withHostView(snap, async (rootfs) => {
    const inRoot = await resolveInRoot(rootfs, path);
    try {
      await Deno.lstat(inRoot);
    } catch {
      throw new BuildError(`Cannot import "stacker://${layer}${path}": no such file in layer "${layer}"`, {
        code: "build.stacker-import-missing",
        context: { layer, path },
      });
    }
    const r = await new Deno.Command("cp", {
      args: ["-a", "--reflink=auto", inRoot, dest],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!r.success) {
      throw new BuildError(
        `Cannot copy "stacker://${layer}${path}": ${new TextDecoder().decode(r.stderr).trim()}`,
        {
          code: "build.stacker-import-copy",
          context: { layer, path },
        },
      );
    }
  });
}
