/**
 * RUN, CMD and ENTRYPOINT text: Docker hands it to a shell untouched, so it is not lexed as words;
 * only ARG references are rewritten into `${{NAME}}` substitutions (stacker refuses a file that
 * uses a substitution key shell-style, spec §1.2), and `mkdir` gets `-p` as stacker's converter does.
 */
import { convertError, type DockerfileWhere } from "./_errors.ts";
import { shellQuote } from "./_words.ts";

/** An ARG as a substitution: `placeholder` is what a plain `$NAME` becomes (`${{NAME}}` or `${{NAME:}}`). */
export interface ArgRef {
  readonly placeholder: string;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * `text` with every `$NAME`, `${NAME}` and `${NAME:-default}` of a known ARG replaced by its
 * substitution. Throws StackerError `convert.bad-word` for other `${NAME…}` forms of an ARG,
 * which a substitution cannot express.
 */
export function rewriteArgRefs(
  text: string,
  args: ReadonlyMap<string, ArgRef>,
  where: DockerfileWhere,
): string {
  let out = text;
  for (const [name, ref] of args) {
    const n = escapeRe(name);
    const re = new RegExp(
      `\\$\\{${n}\\}|\\$\\{${n}:?-([^}]*)\\}|\\$\\{${n}[^A-Za-z0-9_}][^}]*\\}|\\$${n}(?![A-Za-z0-9_])`,
      "g",
    );
    out = out.replace(re, (whole, def: string | undefined) => {
      if (whole === `\${${name}}` || !whole.startsWith("${")) return ref.placeholder;
      if (def !== undefined) return `\${{${name}:${def}}}`;
      throw convertError(
        where,
        "bad-word",
        `"${whole}" uses ARG ${name} in a way a stacker substitution cannot express`,
      );
    });
  }
  return out;
}

/**
 * `mkdir` made idempotent (`mkdir -p`) where it is run as a command, unless it already has `-p`
 * or `--parents`: a converted layer is rebuilt over a base where the directory may exist.
 */
export function withMkdirP(text: string): string {
  return text.replace(
    /(^|[\s;&|(`'"\/])mkdir(?=[ \t])(?![ \t]+(?:-[A-Za-z]*p[A-Za-z]*|--parents)\b)/g,
    "$1mkdir -p",
  );
}

/** `s` single-quoted for POSIX sh, always (the spec's `sh -e -c '<cmd>'` shape). */
export function singleQuote(s: string): string {
  return `'${s.replaceAll("'", `'"'"'`)}'`;
}

/** The exec form's argv as one shell command line. */
export function commandLine(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

/** One `run:` line for `cmd`: `sh -e -c '…'`, or `su -p USER -c '…'` after a USER other than root. */
export function runLine(cmd: string, user: string | undefined): string {
  return user === undefined
    ? `sh -e -c ${singleQuote(cmd)}`
    : `su -p ${shellQuote(user)} -c ${singleQuote(cmd)}`;
}
