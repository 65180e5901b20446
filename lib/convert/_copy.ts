/**
 * COPY → `imports` items with `dest`. Docker's rules are kept where stacker's import placement
 * (spec §1.4) differs: a local directory source gets a trailing `/` (Docker copies its contents
 * whatever the destination looks like), a relative destination resolves against the WORKDIR, and
 * `.`-like destinations are directories. Local sources are relative to the build context (the
 * Dockerfile's directory) and are rewritten relative to the stacker file's directory.
 */
import { join, normalize } from "../util/path.ts";
import { convertError, type DockerfileWhere } from "./_errors.ts";
import { type VarLookup, wordValue } from "./_words.ts";
import type { DockerFlag } from "./dockerfile.ts";
import type { Word } from "./_words.ts";

/** One `imports:` item as written to the stacker file. */
export interface ImportItem {
  readonly path: string;
  readonly dest: string;
  readonly mode?: number;
  readonly uid?: number;
  readonly gid?: number;
}

export interface CopyContext {
  readonly where: DockerfileWhere;
  readonly lookup: VarLookup;
  /** The stage's WORKDIR (absolute). */
  readonly workdir: string;
  /** Layer name of an earlier stage by Docker name or index, or undefined. */
  readonly stageLayer: (ref: string) => string | undefined;
  /** Absolute build context directory. */
  readonly contextDir: string;
  /** Absolute directory of the stacker file being written. */
  readonly outputDir: string;
  readonly isDirectory: (absPath: string) => boolean;
  /** Collects advice for the user. */
  readonly warn: (message: string) => void;
}

/** `to` relative to directory `from` (both absolute and normalized); "." when equal. */
export function relativePath(from: string, to: string): string {
  const a = from.split("/").filter(Boolean);
  const b = to.split("/").filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => ".."), ...b.slice(i)].join("/") || ".";
}

function ownerOf(value: string, where: DockerfileWhere): { uid: number; gid: number } {
  const m = /^(\d+)(?::(\d+))?$/.exec(value);
  if (!m) {
    throw convertError(
      where,
      "unsupported-flag",
      `--chown=${value}: only numeric uid[:gid] can be converted (stacker imports take numbers)`,
    );
  }
  // Docker: a uid without a gid uses the same number as the gid.
  return { uid: Number(m[1]), gid: Number(m[2] ?? m[1]) };
}

function modeOf(value: string, where: DockerfileWhere): number {
  if (!/^[0-7]{3,4}$/.test(value)) {
    throw convertError(
      where,
      "unsupported-flag",
      `--chmod=${value}: only octal modes (0755) can be converted`,
    );
  }
  return parseInt(value, 8);
}

/** The destination as an absolute path; a trailing `/` says "into this directory". */
function destOf(dest: string, workdir: string): string {
  const dirLike = dest.endsWith("/") || /(^|\/)\.\.?$/.test(dest);
  const abs = dest.startsWith("/") ? normalize(dest) : join(workdir, dest);
  return dirLike && !abs.endsWith("/") ? abs + "/" : abs;
}

/**
 * The import items of one COPY. Throws StackerError for flags stacker cannot express (`--link`,
 * `--parents`, `--exclude`, named owners, symbolic modes), wildcards, `--from` an image rather
 * than a stage, a source outside the build context, or several sources into a non-directory.
 */
export function copyImports(
  sources: readonly Word[],
  destWord: Word,
  flags: readonly DockerFlag[],
  ctx: CopyContext,
): ImportItem[] {
  const { where } = ctx;
  let from: string | undefined;
  let owner: { uid: number; gid: number } | undefined;
  let mode: number | undefined;
  for (const f of flags) {
    if (f.value === undefined) {
      throw convertError(where, "unsupported-flag", `COPY --${f.name} is not supported`);
    }
    if (f.name === "from") from = f.value;
    else if (f.name === "chown") owner = ownerOf(f.value, where);
    else if (f.name === "chmod") mode = modeOf(f.value, where);
    else throw convertError(where, "unsupported-flag", `COPY --${f.name} is not supported`);
  }
  const dest = destOf(wordValue(destWord, ctx.lookup, where), ctx.workdir);
  if (sources.length > 1 && !dest.endsWith("/")) {
    throw convertError(
      where,
      "syntax",
      `COPY with several sources needs a destination ending in "/", got "${dest}"`,
    );
  }
  const stage = from === undefined ? undefined : ctx.stageLayer(from.toLowerCase());
  if (from !== undefined && stage === undefined) {
    throw convertError(
      where,
      "unsupported-flag",
      `COPY --from=${from}: "${from}" is not an earlier stage; copying from an image is not supported ` +
        `(add a stage "FROM ${from} AS name" and copy from it)`,
    );
  }
  return sources.map((word) => {
    const src = wordValue(word, ctx.lookup, where);
    if (/[*?[]/.test(src)) {
      throw convertError(
        where,
        "unsupported-wildcard",
        `wildcards in COPY sources ("${src}") are not supported: name each file`,
      );
    }
    const slash = src.endsWith("/") ? "/" : "";
    let path: string;
    if (stage !== undefined) {
      const inStage = normalize("/" + src);
      path = `stacker://${stage}${inStage === "/" ? "" : inStage}${slash}`;
      if (!slash && dest.endsWith("/")) {
        ctx.warn(
          `line ${where.line}: if ${src} is a directory, stacker copies it as ${dest}${
            inStage.split("/").pop()
          }/ ` +
            `where Docker copies its contents into ${dest}; write "${src}/" for the contents`,
        );
      }
    } else {
      const rel = normalize(src.replace(/^\/+/, ""));
      if (rel === ".." || rel.startsWith("../")) {
        throw convertError(where, "outside-context", `COPY source "${src}" is outside the build context`);
      }
      const abs = rel === "." ? ctx.contextDir : join(ctx.contextDir, rel);
      if (rel === ".") {
        ctx.warn(
          `line ${where.line}: COPY of the whole build context also copies the stacker file and any ` +
            ".stacker, oci or roots directory inside it: build from another directory or copy named files",
        );
      }
      const dir = slash !== "" || ctx.isDirectory(abs);
      path = relativePath(ctx.outputDir, abs) + (dir ? "/" : "");
      if (!path.startsWith(".") && !path.startsWith("/")) path = `./${path}`;
    }
    return {
      path,
      dest,
      ...(mode !== undefined ? { mode } : {}),
      ...(owner !== undefined ? owner : {}),
    };
  });
}
