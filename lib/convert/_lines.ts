/**
 * The line level of a Dockerfile: parser directives at the top (`# escape=`…), comments, blank
 * lines and continuations, giving one logical line per instruction with the line it started on.
 * What an instruction means is dockerfile.ts's job.
 */
import { convertError } from "./_errors.ts";

/** One instruction's text with continuations joined (as Docker does: no newline in between). */
export interface LogicalLine {
  readonly text: string;
  /** 1-based line of the first physical line. */
  readonly line: number;
  readonly endLine: number;
}

export interface DockerfileLines {
  /** Parser directives by lower-case name (`escape`, `syntax`, `check`). */
  readonly directives: Readonly<Record<string, string>>;
  /** The escape character: `\` unless `# escape=` said "`". */
  readonly escape: "\\" | "`";
  readonly lines: readonly LogicalLine[];
}

const DIRECTIVE = /^#[ \t]*([A-Za-z][A-Za-z0-9_-]*)[ \t]*=[ \t]*(.*?)[ \t]*$/;
/** Directives BuildKit knows; any other `# key=value` line is a comment and ends the directives. */
const KNOWN_DIRECTIVES = ["escape", "syntax", "check"];

/**
 * Splits `text` into logical lines. Directives are read only before the first comment, blank line
 * or instruction, as BuildKit does; comment and blank lines inside a continuation are dropped.
 * Throws StackerError `convert.bad-directive` for a repeated directive or an escape other than
 * `\` or "`".
 */
export function dockerfileLines(text: string, file: string): DockerfileLines {
  const physical = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  const directives: Record<string, string> = {};
  let i = 0;
  for (; i < physical.length; i++) {
    const m = DIRECTIVE.exec(physical[i]);
    if (!m || !KNOWN_DIRECTIVES.includes(m[1].toLowerCase())) break;
    const name = m[1].toLowerCase();
    if (name in directives) {
      throw convertError({ file, line: i + 1 }, "bad-directive", `parser directive "${name}" is given twice`);
    }
    directives[name] = m[2];
  }
  const esc = directives.escape ?? "\\";
  if (esc !== "\\" && esc !== "`") {
    throw convertError(
      { file, line: 1 },
      "bad-directive",
      `invalid escape character "${esc}": it must be "\\" or "\`"`,
    );
  }
  const continued = new RegExp(`${esc === "\\" ? "\\\\" : "`"}[ \\t]*$`);
  const skippable = (l: string) => l.trim() === "" || l.trimStart().startsWith("#");
  const lines: LogicalLine[] = [];
  while (i < physical.length) {
    if (skippable(physical[i])) {
      i++;
      continue;
    }
    const start = i;
    let joined = "";
    for (;;) {
      const cur = physical[i++];
      const m = continued.exec(cur);
      if (!m) {
        joined += cur;
        break;
      }
      joined += cur.slice(0, m.index);
      while (i < physical.length && skippable(physical[i])) i++;
      if (i >= physical.length) break;
    }
    lines.push({ text: joined.trim(), line: start + 1, endLine: i });
  }
  return { directives, escape: esc, lines };
}
