/**
 * `stacker://<layer>/<path>` reads: a file or tree copied out of a layer this build committed, for
 * imports and tar bases. Read through a throw-away snapshot, so the committed layer is never touched.
 */
import { BuildError } from "../util/errors.ts";
import type { BuildServices } from "./services.ts";
import { resolveInRoot } from "./_in_root.ts";

/**
 * Copies `path` out of the committed layer `layer` to the host path `dest` (`cp -a`, reflinks when
 * the filesystem has them). `path` is resolved inside the layer's rootfs (`resolveInRoot`), a final
 * symlink too. Throws BuildError `build.stacker-import-missing` when the layer has no such file,
 * `build.stacker-import-special` for a device, fifo or socket, `build.stacker-import-copy` when
 * the copy fails.
 */
export async function readFromLayer(
  svc: BuildServices,
  src: { readonly layer: string; readonly path: string; readonly dest: string },
): Promise<void> {
  const { layer, path, dest } = src;
  await using snap = await svc.storage.tempSnapshot(layer);
  await svc.withHostView(snap, async (rootfs) => {
    // A symlink is followed inside the layer: the import is what it names there, never a host file.
    const inRoot = await resolveInRoot(rootfs, path, { followLast: true });
    const st = await Deno.lstat(inRoot).catch(() => undefined);
    if (!st) {
      throw new BuildError(`Cannot import "stacker://${layer}${path}": no such file in layer "${layer}"`, {
        code: "build.stacker-import-missing",
        context: { layer, path },
      });
    }
    if (!st.isFile && !st.isDirectory) {
      throw new BuildError(
        `Cannot import "stacker://${layer}${path}": it is ${kindOf(st)}, not a regular file or directory`,
        { code: "build.stacker-import-special", context: { layer, path } },
      );
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

function kindOf(st: Deno.FileInfo): string {
  if (st.isFifo) return "a fifo";
  if (st.isCharDevice) return "a character device";
  if (st.isBlockDevice) return "a block device";
  if (st.isSocket) return "a socket";
  return "a special file";
}
