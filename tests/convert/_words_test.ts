import assert from "node:assert/strict";
import {
  lexWord,
  lexWords,
  plainText,
  shellQuote,
  shellWord,
  splitRaw,
  type VarLookup,
  wordValue,
} from "../../lib/convert/_words.ts";
import { StackerError } from "../../lib/util/errors.ts";

const at = { file: "Dockerfile", line: 7, keyword: "ENV" };
const lookup: VarLookup = (name) =>
  name === "HOME"
    ? { kind: "value", value: "/root" }
    : name === "EMPTY"
    ? { kind: "value", value: "" }
    : name === "VERSION"
    ? { kind: "placeholder", key: "VERSION" }
    : name === "FLAVOR"
    ? { kind: "placeholder", key: "FLAVOR", fallback: "" }
    : { kind: "unknown" };

Deno.test("lexWords() removes quotes and escapes and splits at unquoted whitespace", () => {
  const words = lexWords(`a "b c" 'd $e' f\\ g "h\\"i" \\$j`, "\\", at);
  assert.deepEqual(words.map(plainText), ["a", "b c", "d $e", "f g", 'h"i', "$j"]);
  assert.deepEqual(lexWords("C:\\dir `$x", "`", at).map(plainText), ["C:\\dir", "$x"]);
});

Deno.test("lexWord() keeps variables as parts, with Docker's modifiers", () => {
  assert.deepEqual(lexWord("$A-${B}x", "\\", at), [
    { kind: "var", name: "A" },
    { kind: "text", text: "-" },
    { kind: "var", name: "B" },
    { kind: "text", text: "x" },
  ]);
  assert.deepEqual(lexWord('"${A:-d e}"', "\\", at), [
    { kind: "var", name: "A", op: ":-", word: [{ kind: "text", text: "d e" }] },
  ]);
  // `$` without a name stays literal.
  assert.equal(plainText(lexWord("cost: $5 $", "\\", at)), "cost: $5 $");
  for (const bad of ["${A:?err}", "${A#x}", "${1}", "${A", "'open", '"open']) {
    assert.throws(
      () => lexWord(bad, "\\", at),
      (e) => e instanceof StackerError && e.code === "convert.bad-word",
    );
  }
});

Deno.test("splitRaw() splits at unquoted whitespace and keeps quotes for name=value parsing", () => {
  assert.deepEqual(splitRaw(`a="b c" d=e\\ f 'g h'=i`, "\\", at), [`a="b c"`, "d=e\\ f", `'g h'=i`]);
});

Deno.test("wordValue() fills ENV values and ARG substitutions, refuses the unknown", () => {
  const v = (s: string) => wordValue(lexWord(s, "\\", at), lookup, at);
  assert.equal(v("$HOME/x"), "/root/x");
  assert.equal(v("v${VERSION}"), "v${{VERSION}}");
  assert.equal(v("$FLAVOR"), "${{FLAVOR:}}");
  assert.equal(v("${VERSION:-1.0}"), "${{VERSION:1.0}}");
  assert.equal(v("${EMPTY:-dflt} ${EMPTY-dflt} ${HOME:+set} ${EMPTY:+set}"), "dflt  set ");
  const e = (() => {
    try {
      v("$PATH");
    } catch (err) {
      return err as StackerError;
    }
  })();
  assert.equal(e?.code, "convert.unknown-variable");
  assert.match(e!.message, /line 7 \(ENV\): "\$PATH" is set neither/);
  assert.throws(() => v("${VERSION:+x}"), /cannot become a substitution/);
});

Deno.test("shellWord() quotes for sh and leaves the unknown to the container's shell", () => {
  const s = (t: string) => shellWord(lexWord(t, "\\", at), lookup, at);
  assert.equal(s("plain/path"), "plain/path");
  assert.equal(s("two words"), "'two words'");
  assert.equal(s("/x:$PATH"), '"/x:${PATH}"');
  assert.equal(s('q\\"$PATH`'), '"q\\"${PATH}\\`"');
  assert.equal(s("${PATH:-/bin}"), '"${PATH:-/bin}"');
  assert.equal(s("$HOME/$VERSION"), '"/root/${{VERSION}}"');
});

Deno.test("shellQuote() leaves safe words bare and single-quotes the rest", () => {
  assert.equal(shellQuote("a-b_c/d.e:f=g"), "a-b_c/d.e:f=g");
  assert.equal(shellQuote(""), "''");
  assert.equal(shellQuote("it's"), `'it'"'"'s'`);
});
