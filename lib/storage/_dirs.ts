/**
 * What the directory-based backends share: existence checks, layer-name validation and the
 * crash-safe swap of a working state into the committed place.
 */
import { StorageError } from "../util/errors.ts";
import { ensurePrivateDir } from "../util/private_dir.ts";

/**
 * The lock file a backend takes around each mutation of the roots dir (waiting for the holder).
 * Not `.lock`: that one is the command-wide, fail-fast lock a build holds on the roots dir (spec
 * §3.1), and a second flock on the same file from this process would wait for ourselves.
 */
export const STORAGE_LOCK = ".storage.lock";

/** Whether `p` exists (not following a final symlink); errors other than NotFound are thrown. */
export async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Refuses a layer name that is not one path component. `extraForbidden` adds characters a
 * backend cannot carry (overlay: "," and ":" break the mount option string).
 */
export function checkName(name: string, extraForbidden = ":"): void {
  const bad = name === "" || name === "." || name === ".." || /[/\0]/.test(name) ||
    [...extraForbidden].some((c) => name.includes(c));
  if (bad) {
    throw new StorageError(`Cannot use layer name "${name}" in storage: it must be one path component`, {
      code: "storage.bad-name",
      context: { name },
    });
  }
}

/**
 * Moves `work` to `built`, replacing an earlier committed state: the old one is moved aside into
 * `asideDir` first, so a crash leaves either the old or the new committed layer, never neither.
 * The caller removes `asideDir`.
 */
export async function swapIntoPlace(
  name: string,
  work: string,
  built: string,
  asideDir: string,
): Promise<void> {
  if (!(await exists(work))) {
    throw new StorageError(`Cannot commit layer "${name}": it has no working rootfs`, {
      code: "storage.nothing-to-commit",
      context: { layer: name },
    });
  }
  if (await exists(built)) await Deno.rename(built, `${asideDir}/x`);
  await Deno.rename(work, built);
}

/**
 * Makes `root` and its `subdirs` (created when missing) and refuses any that is a symlink or not a
 * directory (StorageError `storage.not-a-dir`): the backend then lists, fills and empties them by
 * path, and a planted `tmp -> /elsewhere` must not turn that into work on someone else's files.
 * `root` itself is made private (0700) when this process owns it.
 */
export async function realDirs(root: string, subdirs: readonly string[]): Promise<void> {
  // Unpacked images hold setuid binaries: only the building user enters the roots dir.
  await ensurePrivateDir(root);
  for (const d of ["", ...subdirs]) {
    const p = d === "" ? root : `${root}/${d}`;
    let st: Deno.FileInfo;
    try {
      st = await Deno.lstat(p);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      await Deno.mkdir(p);
      continue;
    }
    // The roots dir itself may be a link its owner made (roots -> /big/disk); its own dirs may not.
    if (d === "" ? !(await Deno.stat(p)).isDirectory : !st.isDirectory) {
      throw new StorageError(
        `Cannot use roots dir "${root}": "${p}" is ${
          st.isSymlink ? "a symlink" : "not a directory"
        }, and stacker's own directories must be real ones (remove it)`,
        { code: "storage.not-a-dir", context: { path: p } },
      );
    }
  }
}
