/** Collecting several problems of one stacker file into one StackerfileError. */
import { StackerfileError } from "../util/errors.ts";

/** One problem at a position of a stacker file. */
export interface FileProblem {
  readonly line: number;
  readonly column: number;
  /** The YAML key (or substitution key) at fault, dotted for nested keys. */
  readonly key?: string;
  readonly code: string;
  readonly message: string;
}

/**
 * Throws nothing for no problems; otherwise one StackerfileError whose message has every problem on
 * its own line as `file:line:column: message`, sorted by position. `context` holds the first
 * problem's file/line/column/key and `count`; `code` is the problem's code, or
 * `stackerfile.invalid` for several.
 */
export function throwProblems(file: string, problems: readonly FileProblem[]): void {
  if (problems.length === 0) return;
  const sorted = [...problems].sort((a, b) => a.line - b.line || a.column - b.column);
  const lines = sorted.map((p) => `${file}:${p.line}:${p.column}: ${p.message}`);
  const first = sorted[0];
  const message = sorted.length === 1
    ? `Cannot load stacker file: ${lines[0]}`
    : `Cannot load stacker file: ${sorted.length} errors\n${lines.join("\n")}`;
  throw new StackerfileError(message, {
    code: sorted.length === 1 ? first.code : "stackerfile.invalid",
    context: { file, line: first.line, column: first.column, key: first.key, count: sorted.length },
  });
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length];
}

/** ` (did you mean "x"?)` for the closest candidate within a third of the word, else "". */
export function didYouMean(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(word.toLowerCase(), c);
    if (d < bestD) [best, bestD] = [c, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3))
    ? ` (did you mean "${best}"?)`
    : "";
}
