/**
 * The one error shape of lib/convert: a StackerError whose message names the Dockerfile and line,
 * so a user can go straight to the instruction stacker cannot take. No subclass: nobody catches it
 * apart from other StackerErrors (STYLE.md §6).
 */
import { StackerError } from "../util/errors.ts";

/** Where in the Dockerfile a problem sits (1-based line of the instruction's first line). */
export interface DockerfileWhere {
  readonly file: string;
  readonly line: number;
  /** The instruction keyword, upper case, when known. */
  readonly keyword?: string;
}

/** `Cannot convert "<file>" line N (KEYWORD): <what>` with code `convert.<code>`. */
export function convertError(where: DockerfileWhere, code: string, what: string): StackerError {
  const kw = where.keyword ? ` (${where.keyword})` : "";
  return new StackerError(`Cannot convert "${where.file}" line ${where.line}${kw}: ${what}`, {
    code: `convert.${code}`,
    context: { file: where.file, line: where.line, instruction: where.keyword },
  });
}
