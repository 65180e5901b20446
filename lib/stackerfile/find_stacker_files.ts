/** Discovery of stacker files under a directory for `recursive-build` and `publish -d`. */
import { StackerfileError } from "../util/errors.ts";

/** The default `-p`: a file named exactly `stacker.yaml` (skips `.stacker.yaml.swp`, `test_stacker.yaml`). */
export const DEFAULT_STACKER_FILE_PATTERN = "\\/stacker.yaml$";

/**
 * Absolute paths of the files under `dir` whose full path matches `pattern`, sorted. Symlinks (to
 * files or directories) are not followed. Throws StackerfileError when `dir` is not a directory or
 * `pattern` is not a valid regular expression.
 */
export async function findStackerFiles(
  dir: string,
  pattern: string | RegExp = DEFAULT_STACKER_FILE_PATTERN,
): Promise<string[]> {
  let re: RegExp;
  try {
    re = typeof pattern === "string" ? new RegExp(pattern) : pattern;
  } catch (err) {
    throw new StackerfileError(
      `Cannot search for stacker files: pattern "${pattern}" is not a valid regular expression`,
      {
        code: "stackerfile.bad-pattern",
        context: { pattern: String(pattern) },
        cause: err,
      },
    );
  }
  const root = await Deno.realPath(dir).catch(() => undefined);
  const info = root === undefined ? undefined : await Deno.stat(root);
  if (root === undefined || !info?.isDirectory) {
    throw new StackerfileError(`Cannot search for stacker files: "${dir}" is not a directory`, {
      code: "stackerfile.bad-search-dir",
      context: { file: dir },
    });
  }
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for await (const e of Deno.readDir(d)) {
      const p = `${d === "/" ? "" : d}/${e.name}`;
      if (e.isSymlink) continue;
      if (e.isDirectory) await walk(p);
      else if (e.isFile && re.test(p)) out.push(p);
    }
  };
  await walk(root);
  return out.sort();
}
