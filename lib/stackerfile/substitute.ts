/**
 * `${{VAR}}` / `${{VAR:default}}` substitution on the raw text of a stacker file, before YAML parsing
 * (spec §1.2), and the resolution of `--substitute`, `--substitute-file` and the built-ins.
 */
import { YAML } from "../util/deps.ts";
import { StackerfileError } from "../util/errors.ts";
import type { Substitution } from "./types.ts";
import { type FileProblem, throwProblems } from "./_problems.ts";

const PLACEHOLDER = /\$\{\{([A-Za-z_][A-Za-z0-9_]*)(?::([^}]*))?\}\}/g;

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** 1-based line and column of `offset` in `text`. */
export function positionOf(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Replaces placeholders in `text`: each substitution in order replaces `${{KEY}}` and
 * `${{KEY:anything}}`; a remaining `${{X:default}}` becomes `default`. Throws one
 * StackerfileError listing every `${{X}}` left without a value (code `stackerfile.no-substitution`)
 * and every shell-style use (`$KEY`, `${KEY}`, `${KEY:…}`) of a user-given key
 * (code `stackerfile.shell-placeholder`), each with line and column in `file`.
 */
export function substitute(text: string, substitutions: readonly Substitution[], file = "<text>"): string {
  const problems: FileProblem[] = [];
  for (const s of substitutions) {
    if (s.builtin) continue;
    const re = new RegExp(`\\$(?:${escapeRe(s.key)}(?![A-Za-z0-9_])|\\{${escapeRe(s.key)}[}:])`, "g");
    for (const m of text.matchAll(re)) {
      problems.push({
        ...positionOf(text, m.index),
        key: s.key,
        code: "stackerfile.shell-placeholder",
        message: `unsupported placeholder "${m[0]}" for a substitution key: write "\${{${s.key}}}"`,
      });
    }
  }
  const values = new Map<string, string>();
  for (const s of substitutions) if (!values.has(s.key)) values.set(s.key, s.value);
  const out = text.replace(PLACEHOLDER, (whole, key: string, def: string | undefined, offset: number) => {
    const v = values.get(key);
    if (v !== undefined) return v;
    if (def !== undefined) return def;
    problems.push({
      ...positionOf(text, offset),
      key,
      code: "stackerfile.no-substitution",
      message:
        `no value for substitution ${key} (in "${whole}"): give --substitute ${key}=… or write \${{${key}:default}}`,
    });
    return whole;
  });
  throwProblems(file, problems);
  return out;
}

/** Options of `resolveSubstitutions`. */
export interface ResolveSubstitutionsOptions {
  /** `--substitute KEY=VALUE`, in order; a value may hold `=` and commas. */
  readonly substitute?: readonly string[];
  /** Text of the `--substitute-file` (a flat YAML map) and its path for messages. */
  readonly substituteFile?: { readonly path: string; readonly text: string };
  /** Absolute dirs for STACKER_ROOTFS_DIR, STACKER_STACKER_DIR, STACKER_OCI_DIR, STACKER_WORK_DIR. */
  readonly dirs?: {
    readonly rootsDir?: string;
    readonly stackerDir?: string;
    readonly ociDir?: string;
    readonly workDir?: string;
  };
}

/**
 * The substitution list in precedence order: `--substitute`, then the substitute file (keys given
 * on the command line win), then the built-ins. Throws StackerfileError on a `--substitute`
 * without `=` or a substitute file that is not a flat map.
 */
export function resolveSubstitutions(opts: ResolveSubstitutionsOptions): Substitution[] {
  const out: Substitution[] = [];
  for (const kv of opts.substitute ?? []) {
    const eq = kv.indexOf("=");
    if (eq <= 0) {
      throw new StackerfileError(`Cannot use --substitute "${kv}": expected KEY=VALUE`, {
        code: "stackerfile.bad-substitute",
        context: { substitute: kv },
      });
    }
    out.push({ key: kv.slice(0, eq), value: kv.slice(eq + 1) });
  }
  if (opts.substituteFile) {
    const { path, text } = opts.substituteFile;
    let data: unknown;
    try {
      data = YAML.parse(text);
    } catch (err) {
      throw new StackerfileError(`Cannot read substitute file "${path}": ${(err as Error).message}`, {
        code: "stackerfile.bad-substitute-file",
        context: { file: path },
        cause: err,
      });
    }
    if (data === null || data === undefined) data = {};
    if (typeof data !== "object" || Array.isArray(data)) {
      throw new StackerfileError(`Cannot read substitute file "${path}": expected a map of KEY: value`, {
        code: "stackerfile.bad-substitute-file",
        context: { file: path },
      });
    }
    const given = new Set(out.map((s) => s.key));
    for (const [key, value] of Object.entries(data as Record<string, unknown>)) {
      if (value !== null && typeof value === "object") {
        throw new StackerfileError(
          `Cannot read substitute file "${path}": value of "${key}" is not a scalar`,
          { code: "stackerfile.bad-substitute-file", context: { file: path, key } },
        );
      }
      if (!given.has(key)) out.push({ key, value: value === null ? "" : String(value) });
    }
  }
  const d = opts.dirs ?? {};
  const builtins: [string, string | undefined][] = [
    ["STACKER_ROOTFS_DIR", d.rootsDir],
    ["STACKER_STACKER_DIR", d.stackerDir],
    ["STACKER_OCI_DIR", d.ociDir],
    ["STACKER_WORK_DIR", d.workDir],
  ];
  for (const [key, value] of builtins) {
    if (value !== undefined) out.push({ key, value, builtin: true });
  }
  return out;
}
