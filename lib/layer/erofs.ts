/**
 * erofs layers through erofs-utils: `mkfs.erofs` of an overlay-style tree (whiteout devices and the
 * opaque xattr kept, so the image can be overlay-mounted directly), lz4hc-compressed (Debian 12's
 * erofs-utils 1.5 has no zstd), optionally with dm-verity data. As for squashfs, the diff_id is the
 * blob digest.
 *
 * Unpacking erofs layers is not offered: `fsck.erofs --extract` of erofs-utils 1.5 drops xattrs,
 * which would lose opaque directories; an erofs layer in a base is refused by `unpackLayer` as an
 * unsupported media type.
 */
import { type Logger, silentLogger } from "../util/log.ts";
import { type GeneratedLayer, imageLayerOf, runImageTool } from "./squashfs.ts";

/** Media type prefix of stacker's erofs layers (`+lz4`, `+lz4hc`, `+zstd`). */
export const EROFS_MEDIA_TYPE_PREFIX = "application/vnd.stacker.image.layer.erofs";
/** What `generateErofs` produces. */
export const EROFS_MEDIA_TYPE = `${EROFS_MEDIA_TYPE_PREFIX}+lz4hc`;

/**
 * A fixed filesystem UUID: mkfs.erofs picks a random one otherwise, and the same tree must give the
 * same bytes.
 */
const FIXED_UUID = "5a7c4e51-0b3d-4c2a-9e6f-e0f5a1c3d7b9";

export interface ErofsOptions {
  /** Every timestamp (and the build time) set to this: same tree, same bytes. */
  sourceDateEpoch?: number;
  /** Append dm-verity hash data and return its root hash as an annotation. */
  verity?: boolean;
  /** Pack an empty directory too, instead of returning undefined. */
  keepEmpty?: boolean;
  log?: Logger;
}

/** True when `mkfs.erofs` can be started here. */
export async function erofsSupported(): Promise<boolean> {
  try {
    // a missing binary throws synchronously from output(), not as a rejection
    const out = await new Deno.Command("mkfs.erofs", { args: ["--help"], stdout: "null", stderr: "null" })
      .output();
    return out.success;
  } catch {
    return false;
  }
}

/**
 * Packs `dir` into an erofs layer; undefined when `dir` is empty (unless `keepEmpty`). The image is
 * made in a temp file, then streamed once and removed. Throws LayerError `layer.erofs` (or
 * `layer.verity`).
 */
export async function generateErofs(
  dir: string,
  opts: ErofsOptions = {},
): Promise<GeneratedLayer | undefined> {
  if (!opts.keepEmpty) {
    let empty = true;
    for await (const _ of Deno.readDir(dir)) {
      empty = false;
      break;
    }
    if (empty) return undefined;
  }
  const tmp = await Deno.makeTempDir({ prefix: "stacker-erofs-" });
  const file = `${tmp}/layer.erofs`;
  const argv = ["mkfs.erofs", "--quiet", "-zlz4hc", `-U${FIXED_UUID}`];
  if (opts.sourceDateEpoch !== undefined) argv.push(`-T${opts.sourceDateEpoch}`);
  argv.push(file, dir);
  (opts.log ?? silentLogger).debug("mkfs.erofs", { dir });
  return await imageLayerOf(
    tmp,
    file,
    EROFS_MEDIA_TYPE,
    opts.verity ?? false,
    () => runImageTool(argv, `make erofs layer of "${dir}"`, "layer.erofs"),
  );
}
