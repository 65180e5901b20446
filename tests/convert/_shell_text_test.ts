import assert from "node:assert/strict";
import {
  commandLine,
  rewriteArgRefs,
  runLine,
  singleQuote,
  withMkdirP,
} from "../../lib/convert/_shell_text.ts";
import { StackerError } from "../../lib/util/errors.ts";

const at = { file: "Dockerfile", line: 3, keyword: "RUN" };
const args = new Map([["V", { placeholder: "${{V}}" }], ["OPT", { placeholder: "${{OPT:}}" }]]);

Deno.test("rewriteArgRefs() turns ARG references into substitutions and leaves other variables", () => {
  assert.equal(
    rewriteArgRefs("echo $V ${V} ${V:-1} ${V-2} $VX ${VX} $HOME $OPT", args, at),
    "echo ${{V}} ${{V}} ${{V:1}} ${{V:2}} $VX ${VX} $HOME ${{OPT:}}",
  );
  assert.throws(
    () => rewriteArgRefs("echo ${V:+x}", args, at),
    (e) => e instanceof StackerError && e.code === "convert.bad-word" && /line 3/.test(e.message),
  );
});

Deno.test("withMkdirP() adds -p to mkdir commands only", () => {
  assert.equal(withMkdirP("mkdir /a && /bin/mkdir b;mkdir c"), "mkdir -p /a && /bin/mkdir -p b;mkdir -p c");
  assert.equal(
    withMkdirP("mkdir -p /a; mkdir -pv b; mkdir --parents c"),
    "mkdir -p /a; mkdir -pv b; mkdir --parents c",
  );
  assert.equal(withMkdirP("mkdirhier x; my-mkdir y; echo mkdir-z"), "mkdirhier x; my-mkdir y; echo mkdir-z");
});

Deno.test("runLine() wraps a command in sh -e -c, or su -p after USER", () => {
  assert.equal(runLine("echo 'hi'", undefined), `sh -e -c 'echo '"'"'hi'"'"''`);
  assert.equal(runLine("id -u", "1000"), "su -p 1000 -c 'id -u'");
  assert.equal(singleQuote(""), "''");
  assert.equal(commandLine(["echo", "a b", "c"]), "echo 'a b' c");
});
