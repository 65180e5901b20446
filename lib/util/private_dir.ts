/**
 * Directories that hold image content on the host (unpacked rootfs trees, staged imports) sit
 * behind a 0700 directory of the building user: a setuid binary from a base image is then out of
 * other local users' reach (RELIABILITY §7).
 */

/**
 * Makes `dir` (and its parents) and, when it is a directory this process owns, sets it to 0700.
 * A directory someone else owns is left as it is (its owner decides who may enter).
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await Deno.stat(dir);
  if (st.isDirectory && st.uid === Deno.uid() && ((st.mode ?? 0) & 0o777) !== 0o700) {
    await Deno.chmod(dir, 0o700);
  }
}

/** The parent directory of `path` ("/" for a top-level name). */
export function parentOf(path: string): string {
  const p = path.replace(/\/+$/, "");
  return p.slice(0, p.lastIndexOf("/")) || "/";
}
