/**
 * Dockerfile text → typed instructions. Follows Docker's grammar (directives, continuations,
 * comments, exec/JSON vs shell form, `--flag=value` options, `name=value` lists) but knows nothing
 * of stacker: instructions stacker cannot take (ADD, HEALTHCHECK…) come out as `unsupported` for
 * the converter to refuse with their line. Heredocs are refused here, since they change how lines
 * are read.
 */
import { convertError, type DockerfileWhere } from "./_errors.ts";
import { dockerfileLines, type LogicalLine } from "./_lines.ts";
import { lexWord, lexWords, splitRaw, type Word } from "./_words.ts";

/** `RUN`/`CMD`/`ENTRYPOINT` arguments: a shell command line, or the JSON (exec) form's argv. */
export type CommandForm =
  | { readonly form: "shell"; readonly text: string }
  | { readonly form: "exec"; readonly argv: readonly string[] };

/** A `--name=value` option before the arguments (`--from=build`); value undefined for `--name`. */
export interface DockerFlag {
  readonly name: string;
  readonly value?: string;
}

export interface KeyValue {
  readonly key: Word;
  readonly value: Word;
}

interface Common {
  /** 1-based lines the instruction spans. */
  readonly line: number;
  readonly endLine: number;
  /** Upper-case keyword as written (`RUN`). */
  readonly keyword: string;
  readonly flags: readonly DockerFlag[];
}

/** One instruction, by kind. */
export type Instruction =
  & Common
  & (
    | { readonly kind: "from"; readonly image: Word; readonly stage?: string }
    | { readonly kind: "run"; readonly command: CommandForm }
    | { readonly kind: "cmd"; readonly command: CommandForm }
    | { readonly kind: "entrypoint"; readonly command: CommandForm }
    | { readonly kind: "env"; readonly pairs: readonly KeyValue[] }
    | { readonly kind: "label"; readonly pairs: readonly KeyValue[] }
    | { readonly kind: "arg"; readonly args: readonly { readonly name: string; readonly value?: Word }[] }
    | { readonly kind: "copy"; readonly sources: readonly Word[]; readonly dest: Word }
    | { readonly kind: "workdir"; readonly path: Word }
    | { readonly kind: "user"; readonly user: Word }
    | { readonly kind: "volume"; readonly paths: readonly Word[] }
    | { readonly kind: "expose"; readonly text: string }
    | { readonly kind: "maintainer"; readonly text: string }
    /** A real Dockerfile instruction with no stacker equivalent (ADD, HEALTHCHECK, SHELL, …). */
    | { readonly kind: "unsupported"; readonly text: string }
  );

export interface Dockerfile {
  /** The path (or name) used in messages. */
  readonly file: string;
  readonly escape: "\\" | "`";
  readonly directives: Readonly<Record<string, string>>;
  readonly instructions: readonly Instruction[];
}

/** Instructions Docker knows that stacker has no equivalent for. */
const UNSUPPORTED = ["ADD", "HEALTHCHECK", "SHELL", "ONBUILD", "STOPSIGNAL"];
/** Instructions whose arguments may start with `--flag` options. */
const WITH_FLAGS = ["FROM", "RUN", "COPY", "ADD", "HEALTHCHECK"];
/** Instructions that take the JSON (exec) form. */
const WITH_JSON = ["RUN", "CMD", "ENTRYPOINT", "COPY", "ADD", "VOLUME", "SHELL"];

/** The JSON array of strings `text` holds, or undefined (then Docker reads the shell form). */
function jsonForm(text: string): string[] | undefined {
  if (!text.startsWith("[")) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return Array.isArray(v) && v.every((s) => typeof s === "string") ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Leading `--name[=value]` options of `text` and what follows them. */
function splitFlags(text: string): { flags: DockerFlag[]; rest: string } {
  const flags: DockerFlag[] = [];
  let rest = text;
  for (;;) {
    const m = /^--([A-Za-z][A-Za-z0-9-]*)(?:=(\S*))?(?:\s+|$)/.exec(rest);
    if (!m) return { flags, rest };
    flags.push(m[2] === undefined ? { name: m[1] } : { name: m[1], value: m[2] });
    rest = rest.slice(m[0].length);
  }
}

/**
 * A heredoc (`<<EOF`, `<<-"EOF"`) in RUN/COPY/ADD arguments. BuildKit reads the following lines as
 * its body, which this converter does not do; `<<<` (a here-string) is not one.
 */
const HEREDOC = /(^|[^<])<<-?\s*["']?[A-Za-z_][A-Za-z0-9_]*["']?/;

/** `name=value` items of ENV/LABEL, or the legacy `ENV name value` form (value: rest of line). */
function keyValues(text: string, esc: string, where: DockerfileWhere, legacy: boolean): KeyValue[] {
  const items = splitRaw(text, esc, where);
  if (items.length === 0) {
    throw convertError(where, "syntax", `${where.keyword} needs at least one name=value`);
  }
  if (!items[0].includes("=")) {
    const m = /^(\S+)\s+([\s\S]*)$/.exec(text);
    if (!legacy || !m) {
      throw convertError(where, "syntax", `${where.keyword} needs name=value, got "${text}"`);
    }
    return [{ key: lexWord(m[1], esc, where), value: lexWord(m[2], esc, where) }];
  }
  return items.map((item) => {
    const eq = item.indexOf("=");
    if (eq <= 0) throw convertError(where, "syntax", `${where.keyword} needs name=value, got "${item}"`);
    return { key: lexWord(item.slice(0, eq), esc, where), value: lexWord(item.slice(eq + 1), esc, where) };
  });
}

/** The one instruction on logical line `l`. */
function instructionOf(l: LogicalLine, esc: "\\" | "`", file: string): Instruction {
  const m = /^(\S+)(?:\s+([\s\S]*))?$/.exec(l.text)!;
  const keyword = m[1].toUpperCase();
  const where: DockerfileWhere = { file, line: l.line, keyword };
  if (!/^[A-Z]+$/.test(keyword)) throw convertError(where, "syntax", `unknown instruction "${m[1]}"`);
  const { flags, rest } = WITH_FLAGS.includes(keyword)
    ? splitFlags(m[2] ?? "")
    : { flags: [], rest: m[2] ?? "" };
  const args = rest.trim();
  const common: Common = { line: l.line, endLine: l.endLine, keyword, flags };
  const json = WITH_JSON.includes(keyword) ? jsonForm(args) : undefined;
  const need = (what: string) => {
    if (args === "") throw convertError(where, "syntax", `${keyword} needs ${what}`);
  };
  if (["RUN", "COPY", "ADD"].includes(keyword) && !json && HEREDOC.test(args)) {
    throw convertError(
      where,
      "heredoc",
      "heredocs (<<WORD) are not supported: put the script in a file and COPY it, or use one RUN line per command",
    );
  }
  switch (keyword) {
    case "FROM": {
      need("an image");
      const words = splitRaw(args, esc, where);
      if (words.length === 3 && words[1].toLowerCase() === "as") {
        if (!/^[A-Za-z][A-Za-z0-9_.-]*$/.test(words[2])) {
          throw convertError(where, "syntax", `invalid stage name "${words[2]}"`);
        }
        return {
          ...common,
          kind: "from",
          image: lexWord(words[0], esc, where),
          stage: words[2].toLowerCase(),
        };
      }
      if (words.length !== 1) {
        throw convertError(where, "syntax", `expected "FROM image [AS name]", got "${args}"`);
      }
      return { ...common, kind: "from", image: lexWord(words[0], esc, where) };
    }
    case "RUN":
    case "CMD":
    case "ENTRYPOINT": {
      need("a command");
      const command: CommandForm = json ? { form: "exec", argv: json } : { form: "shell", text: args };
      if (keyword === "RUN") return { ...common, kind: "run", command };
      return keyword === "CMD"
        ? { ...common, kind: "cmd", command }
        : { ...common, kind: "entrypoint", command };
    }
    case "ENV":
    case "LABEL":
      need("name=value");
      return keyword === "ENV"
        ? { ...common, kind: "env", pairs: keyValues(args, esc, where, true) }
        : { ...common, kind: "label", pairs: keyValues(args, esc, where, true) };
    case "ARG": {
      need("a name");
      const items = splitRaw(args, esc, where).map((item) => {
        const eq = item.indexOf("=");
        const name = eq < 0 ? item : item.slice(0, eq);
        if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
          throw convertError(where, "syntax", `invalid ARG name "${name}"`);
        }
        return eq < 0 ? { name } : { name, value: lexWord(item.slice(eq + 1), esc, where) };
      });
      return { ...common, kind: "arg", args: items };
    }
    case "COPY": {
      need("sources and a destination");
      const words = json ? json.map((s) => lexWord(s, esc, where)) : lexWords(args, esc, where);
      if (words.length < 2) {
        throw convertError(where, "syntax", "COPY needs at least one source and a destination");
      }
      return { ...common, kind: "copy", sources: words.slice(0, -1), dest: words[words.length - 1] };
    }
    case "WORKDIR":
      need("a path");
      return { ...common, kind: "workdir", path: lexWord(args, esc, where) };
    case "USER":
      need("a user");
      return { ...common, kind: "user", user: lexWord(args, esc, where) };
    case "VOLUME": {
      need("a path");
      const paths = json ? json.map((s) => lexWord(s, esc, where)) : lexWords(args, esc, where);
      return { ...common, kind: "volume", paths };
    }
    case "EXPOSE":
      return { ...common, kind: "expose", text: args };
    case "MAINTAINER":
      need("a name");
      return { ...common, kind: "maintainer", text: args };
    default:
      if (UNSUPPORTED.includes(keyword)) return { ...common, kind: "unsupported", text: args };
      throw convertError(where, "syntax", `unknown instruction "${m[1]}"`);
  }
}

/**
 * Parses a Dockerfile. Throws StackerError (`convert.syntax`, `convert.bad-word`,
 * `convert.heredoc`, `convert.bad-directive`) naming `file` and the line.
 */
export function parseDockerfile(text: string, file = "Dockerfile"): Dockerfile {
  const { directives, escape, lines } = dockerfileLines(text, file);
  return { file, escape, directives, instructions: lines.map((l) => instructionOf(l, escape, file)) };
}
