/**
 * Dockerfile words: the quoting, escaping and `$VAR` rules Docker applies to the arguments of
 * ENV, ARG, LABEL, COPY, WORKDIR, USER, VOLUME and FROM (not RUN/CMD text, which goes to a shell
 * untouched), and two ways to turn a word back into text: the value as known when converting, or
 * a shell word that leaves the container's shell to expand what only it can know (`$PATH` of the
 * base image). ARGs become `${{NAME}}` substitutions in both.
 */
import { convertError, type DockerfileWhere } from "./_errors.ts";

/** A piece of a word: literal text, or a variable reference (`$X`, `${X}`, `${X:-word}`…). */
export type WordPart =
  | { readonly kind: "text"; readonly text: string }
  | {
    readonly kind: "var";
    readonly name: string;
    /** Docker's supported modifiers; `${X:?…}`, `${X#…}` and friends are refused when lexing. */
    readonly op?: ":-" | "-" | ":+" | "+";
    readonly word?: Word;
  };

/** One word after quote removal: its parts in order. */
export type Word = readonly WordPart[];

/** What a variable means when converting. */
export type VarValue =
  /** Known now (an ENV value without unknown references). */
  | { readonly kind: "value"; readonly value: string }
  /** An ARG: a `${{key}}` substitution (`${{key:fallback}}` when it has a fallback). */
  | { readonly kind: "placeholder"; readonly key: string; readonly fallback?: string }
  /** Not set by this Dockerfile: only the base image's environment could say. */
  | { readonly kind: "unknown" };

export type VarLookup = (name: string) => VarValue;

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;

interface Lexer {
  readonly s: string;
  pos: number;
  readonly esc: string;
  readonly where: DockerfileWhere;
}

function bad(lx: Lexer, what: string): Error {
  return convertError(lx.where, "bad-word", what);
}

/** Reads one word from `lx.pos`, stopping at whitespace (when `split`) or at an unquoted `stop`. */
function readWord(lx: Lexer, split: boolean, stop?: string): WordPart[] {
  const parts: WordPart[] = [];
  let buf = "";
  const flush = () => {
    if (buf !== "") parts.push({ kind: "text", text: buf });
    buf = "";
  };
  const { s, esc } = lx;
  while (lx.pos < s.length) {
    const c = s[lx.pos];
    if (c === stop || (split && /\s/.test(c))) break;
    if (c === esc) {
      // Outside quotes the escape character makes the next one literal (a trailing one is kept).
      buf += lx.pos + 1 < s.length ? s[lx.pos + 1] : c;
      lx.pos += 2;
    } else if (c === "'") {
      const end = s.indexOf("'", lx.pos + 1);
      if (end < 0) throw bad(lx, `unterminated single quote in "${s}"`);
      buf += s.slice(lx.pos + 1, end);
      lx.pos = end + 1;
    } else if (c === '"') {
      lx.pos++;
      for (;;) {
        if (lx.pos >= s.length) throw bad(lx, `unterminated double quote in "${s}"`);
        const d = s[lx.pos];
        if (d === '"') {
          lx.pos++;
          break;
        }
        if (d === esc && ['"', "$", esc].includes(s[lx.pos + 1])) {
          buf += s[lx.pos + 1];
          lx.pos += 2;
        } else if (d === "$") {
          const v = readVar(lx);
          if (typeof v === "string") buf += v;
          else flush(), parts.push(v);
        } else {
          buf += d;
          lx.pos++;
        }
      }
    } else if (c === "$") {
      const v = readVar(lx);
      if (typeof v === "string") buf += v;
      else flush(), parts.push(v);
    } else {
      buf += c;
      lx.pos++;
    }
  }
  flush();
  return parts;
}

/** At a `$`: a variable part, or the literal text when no name follows (`$1`, `$ `, `$` at the end). */
function readVar(lx: Lexer): WordPart | string {
  const { s } = lx;
  if (s[lx.pos + 1] === "{") {
    NAME.lastIndex = lx.pos + 2;
    const m = NAME.exec(s);
    if (!m) throw bad(lx, `bad substitution in "${s}": expected a variable name after "\${"`);
    const name = m[0];
    lx.pos = NAME.lastIndex;
    if (s[lx.pos] === "}") {
      lx.pos++;
      return { kind: "var", name };
    }
    const op = [":-", ":+", "-", "+"].find((o) => s.startsWith(o, lx.pos)) as
      | ":-"
      | ":+"
      | "-"
      | "+"
      | undefined;
    if (!op) {
      throw bad(
        lx,
        `unsupported substitution "\${${name}${s.slice(lx.pos, lx.pos + 2)}…" in "${s}": ` +
          "only ${X}, ${X:-default} and ${X:+alternative} are converted",
      );
    }
    lx.pos += op.length;
    const word = readWord(lx, false, "}");
    if (s[lx.pos] !== "}") throw bad(lx, `missing "}" in "${s}"`);
    lx.pos++;
    return { kind: "var", name, op, word };
  }
  NAME.lastIndex = lx.pos + 1;
  const m = NAME.exec(s);
  if (!m) {
    lx.pos++;
    return "$";
  }
  lx.pos = NAME.lastIndex;
  return { kind: "var", name: m[0] };
}

/** `text` split at unquoted whitespace into words, quotes removed, variables kept as parts. */
export function lexWords(text: string, esc: string, where: DockerfileWhere): Word[] {
  const lx: Lexer = { s: text, pos: 0, esc, where };
  const out: Word[] = [];
  for (;;) {
    while (lx.pos < text.length && /\s/.test(text[lx.pos])) lx.pos++;
    if (lx.pos >= text.length) return out;
    out.push(readWord(lx, true));
  }
}

/** `text` as one word (whitespace kept), quotes removed, variables kept as parts. */
export function lexWord(text: string, esc: string, where: DockerfileWhere): Word {
  const lx: Lexer = { s: text, pos: 0, esc, where };
  return readWord(lx, false);
}

/**
 * `text` split at unquoted whitespace with quotes and escapes left in place: how Docker's parser
 * cuts `ENV`/`LABEL`/`ARG` arguments into `name=value` items before their words are processed.
 */
export function splitRaw(text: string, esc: string, where: DockerfileWhere): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (/\s/.test(c)) {
      if (inWord) out.push(cur), cur = "", inWord = false;
      continue;
    }
    inWord = true;
    if (c === esc) {
      cur += text.slice(i, i + 2);
      i++;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== c) j += c === '"' && text[j] === esc ? 2 : 1;
      if (j >= text.length) throw convertError(where, "bad-word", `unterminated quote in "${text}"`);
      cur += text.slice(i, j + 1);
      i = j;
    } else {
      cur += c;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

/** The text of a word that has no variable parts (e.g. a key), or undefined. */
export function plainText(word: Word): string | undefined {
  return word.every((p) => p.kind === "text")
    ? word.map((p) => (p as { text: string }).text).join("")
    : undefined;
}

type Seg = { readonly lit: string } | { readonly raw: string };

/** Escapes `s` for the inside of a POSIX double-quoted string. */
function escapeDq(s: string): string {
  return s.replace(/[\\"$`]/g, "\\$&");
}

function segsOf(word: Word, lookup: VarLookup, shell: boolean, where: DockerfileWhere): Seg[] {
  const out: Seg[] = [];
  for (const p of word) {
    if (p.kind === "text") {
      out.push({ lit: p.text });
      continue;
    }
    const v = lookup(p.name);
    if (v.kind === "value") {
      const set = v.value !== "";
      const useWord = p.op === ":-" ? !set : p.op === ":+" ? set : p.op === "+";
      if (useWord) out.push(...segsOf(p.word ?? [], lookup, shell, where));
      else if (p.op !== ":+" && p.op !== "+") out.push({ lit: v.value });
    } else if (v.kind === "placeholder") {
      if (p.op === ":+" || p.op === "+") {
        throw convertError(
          where,
          "bad-word",
          `"\${${p.name}${p.op}…}" of an ARG cannot become a substitution`,
        );
      }
      if (p.op === undefined) {
        out.push({ raw: v.fallback === undefined ? `\${{${v.key}}}` : `\${{${v.key}:${v.fallback}}}` });
        continue;
      }
      const def = segsOf(p.word ?? [], lookup, shell, where);
      const text = def.map((d) => ("lit" in d ? (shell ? escapeDq(d.lit) : d.lit) : d.raw)).join("");
      if (def.some((d) => "raw" in d) || text.includes("}")) {
        throw convertError(
          where,
          "bad-word",
          `the default of "\${${p.name}${p.op}…}" must be plain text without "}"`,
        );
      }
      out.push({ raw: `\${{${v.key}:${text}}}` });
    } else if (shell) {
      // Left to the container's shell, which knows the base image's environment.
      const inner = p.op === undefined ? "" : p.op + segsOf(p.word ?? [], lookup, shell, where)
        .map((d) => ("lit" in d ? escapeDq(d.lit) : d.raw)).join("");
      out.push({ raw: `\${${p.name}${inner}}` });
    } else {
      throw convertError(
        where,
        "unknown-variable",
        `"$${p.name}" is set neither by an ENV nor by an ARG before this line, ` +
          "and the base image's environment is not known when converting",
      );
    }
  }
  return out;
}

/**
 * The value of `word` now: ENV values filled in, ARGs as `${{NAME}}` text. Throws StackerError
 * `convert.unknown-variable` for a variable only the base image could set.
 */
export function wordValue(word: Word, lookup: VarLookup, where: DockerfileWhere): string {
  return segsOf(word, lookup, false, where).map((s) => ("lit" in s ? s.lit : s.raw)).join("");
}

/**
 * `word` as one POSIX shell word: literal text quoted, ENV values filled in, ARGs as `${{NAME}}`
 * and unknown variables as `${NAME}` for the shell to expand inside double quotes.
 */
export function shellWord(word: Word, lookup: VarLookup, where: DockerfileWhere): string {
  const segs = segsOf(word, lookup, true, where);
  if (segs.every((s) => "lit" in s)) return shellQuote(segs.map((s) => (s as { lit: string }).lit).join(""));
  return `"${segs.map((s) => ("lit" in s ? escapeDq(s.lit) : s.raw)).join("")}"`;
}

/** `s` as one POSIX shell word: bare when it holds only safe characters, else single-quoted. */
export function shellQuote(s: string): string {
  if (/^[A-Za-z0-9_\/.,:@%+=-]+$/.test(s)) return s;
  return `'${s.replaceAll("'", `'"'"'`)}'`;
}
