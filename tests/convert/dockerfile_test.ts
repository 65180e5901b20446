import assert from "node:assert/strict";
import { type Instruction, parseDockerfile } from "../../lib/convert/dockerfile.ts";
import { plainText } from "../../lib/convert/_words.ts";
import { StackerError } from "../../lib/util/errors.ts";

/** The StackerError `fn` throws. */
function errorOf(fn: () => unknown): StackerError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof StackerError, `expected a StackerError, got ${err}`);
    return err;
  }
  assert.fail("expected a StackerError, nothing was thrown");
}

function only<K extends Instruction["kind"]>(text: string, kind: K): Extract<Instruction, { kind: K }> {
  const ins = parseDockerfile(text).instructions.filter((i) => i.kind === kind);
  assert.equal(ins.length, 1, `one ${kind} in ${JSON.stringify(text)}`);
  return ins[0] as Extract<Instruction, { kind: K }>;
}

Deno.test("parseDockerfile() joins continuations, skips comments and blank lines, keeps start lines", () => {
  const df = parseDockerfile(
    "# leading comment\n\nFROM busybox\nRUN echo a \\\n  # dropped comment\n\n  && echo b \\  \n  && echo c\n# tail\nCMD x\n",
  );
  assert.deepEqual(df.instructions.map((i) => [i.keyword, i.line]), [["FROM", 3], ["RUN", 4], ["CMD", 10]]);
  const run = df.instructions[1] as Extract<Instruction, { kind: "run" }>;
  assert.equal(run.endLine, 8);
  assert.deepEqual(run.command, { form: "shell", text: "echo a   && echo b   && echo c" });
});

Deno.test("parseDockerfile() tells the exec (JSON) form from the shell form", () => {
  assert.deepEqual(only('FROM x\nRUN ["echo", "a b"]', "run").command, {
    form: "exec",
    argv: ["echo", "a b"],
  });
  // Not JSON (or not an array of strings): the shell form, as Docker reads it.
  assert.deepEqual(only("FROM x\nRUN [ -f /x ] && echo y", "run").command, {
    form: "shell",
    text: "[ -f /x ] && echo y",
  });
  assert.deepEqual(only('FROM x\nCMD ["a", 1]', "cmd").command, { form: "shell", text: '["a", 1]' });
  assert.deepEqual(only("FROM x\nentrypoint /bin/app --flag", "entrypoint").command, {
    form: "shell",
    text: "/bin/app --flag",
  });
});

Deno.test("parseDockerfile() honours '# escape=`' and reads directives only at the top", () => {
  const df = parseDockerfile(
    "# escape=`\n# syntax=docker/dockerfile:1\nFROM x\nRUN echo C:\\dir `\n  done\n",
  );
  assert.equal(df.escape, "`");
  assert.deepEqual(df.directives, { escape: "`", syntax: "docker/dockerfile:1" });
  assert.deepEqual((df.instructions[1] as Extract<Instruction, { kind: "run" }>).command, {
    form: "shell",
    text: "echo C:\\dir   done",
  });
  // After a comment or instruction, "# escape=" is a plain comment: backslash still continues.
  const late = parseDockerfile("# hello\n# escape=`\nFROM x\nRUN a \\\n b\n");
  assert.equal(late.escape, "\\");
  assert.equal(late.instructions.length, 2);
  assert.equal(errorOf(() => parseDockerfile("# escape=x\nFROM y")).code, "convert.bad-directive");
  assert.equal(
    errorOf(() => parseDockerfile("# escape=`\n# escape=\\\nFROM y")).code,
    "convert.bad-directive",
  );
});

Deno.test("parseDockerfile() reads FROM with AS and flags, ENV/LABEL pairs and the legacy form, ARGs", () => {
  const from = only("FROM --platform=linux/amd64 Debian:12 As Build", "from");
  assert.equal(from.stage, "build");
  assert.deepEqual(from.flags, [{ name: "platform", value: "linux/amd64" }]);
  assert.equal(plainText(from.image), "Debian:12");

  const env = only('FROM x\nENV A=1 B="two words" C=thr\\ ee', "env");
  assert.deepEqual(env.pairs.map((p) => [plainText(p.key), plainText(p.value)]), [
    ["A", "1"],
    ["B", "two words"],
    ["C", "thr ee"],
  ]);
  const legacy = only("FROM x\nENV GREETING hello  world", "env");
  assert.deepEqual(legacy.pairs.map((p) => [plainText(p.key), plainText(p.value)]), [[
    "GREETING",
    "hello  world",
  ]]);
  const label = only('FROM x\nLABEL "com.example.a"="x y" b=c', "label");
  assert.deepEqual(label.pairs.map((p) => [plainText(p.key), plainText(p.value)]), [
    ["com.example.a", "x y"],
    [
      "b",
      "c",
    ],
  ]);
  const arg = only("ARG A B=2", "arg");
  assert.deepEqual(arg.args.map((a) => [a.name, a.value && plainText(a.value)]), [["A", undefined], [
    "B",
    "2",
  ]]);
});

Deno.test("parseDockerfile() reads COPY flags, sources and destination in both forms", () => {
  const c = only("FROM x\nCOPY --from=build --chown=1:2 a b /dst/", "copy");
  assert.deepEqual(c.flags, [{ name: "from", value: "build" }, { name: "chown", value: "1:2" }]);
  assert.deepEqual(c.sources.map(plainText), ["a", "b"]);
  assert.equal(plainText(c.dest), "/dst/");
  const j = only('FROM x\nCOPY ["a b", "/d"]', "copy");
  assert.deepEqual(j.sources.map(plainText), ["a b"]);
  assert.deepEqual(only('FROM x\nVOLUME ["/a", "/b"]', "volume").paths.map(plainText), ["/a", "/b"]);
  assert.deepEqual(only("FROM x\nVOLUME /a /b", "volume").paths.map(plainText), ["/a", "/b"]);
});

Deno.test("parseDockerfile() keeps unsupported instructions for the converter and refuses unknown ones", () => {
  const df = parseDockerfile(
    'FROM x\nADD a /b\nHEALTHCHECK NONE\nSHELL ["/bin/bash"]\nSTOPSIGNAL 9\nONBUILD RUN x',
  );
  assert.deepEqual(df.instructions.slice(1).map((i) => [i.kind, i.keyword]), [
    ["unsupported", "ADD"],
    ["unsupported", "HEALTHCHECK"],
    ["unsupported", "SHELL"],
    ["unsupported", "STOPSIGNAL"],
    ["unsupported", "ONBUILD"],
  ]);
  const e = errorOf(() => parseDockerfile("FROM x\n\nFROBNICATE a"));
  assert.equal(e.code, "convert.syntax");
  assert.equal(e.context.line, 3);
  assert.match(e.message, /line 3 .*unknown instruction "FROBNICATE"/);
});

Deno.test("parseDockerfile() refuses heredocs, naming the line", () => {
  for (const text of ["FROM x\nRUN <<EOF\necho hi\nEOF\n", "FROM x\nRUN cat <<-'END' > /f\nx\nEND\n"]) {
    const e = errorOf(() => parseDockerfile(text));
    assert.equal(e.code, "convert.heredoc");
    assert.equal(e.context.line, 2);
  }
  // A here-string is not a heredoc.
  assert.equal(only("FROM x\nRUN bash -c 'cat <<< hi'", "run").command.form, "shell");
});

Deno.test("parseDockerfile() reports syntax errors with their line", () => {
  const cases: [string, number, RegExp][] = [
    ["FROM a b", 1, /FROM image \[AS name\]/],
    ["FROM x\nCOPY onlyone", 2, /at least one source/],
    ["FROM x\n\nENV", 3, /needs name=value/],
    ["FROM x\nENV A=1 B", 2, /needs name=value/],
    ["FROM x\nRUN", 2, /needs a command/],
    ["ARG 1BAD", 1, /invalid ARG name/],
    ['FROM x\nENV A="open', 2, /unterminated/],
  ];
  for (const [text, line, re] of cases) {
    const e = errorOf(() => parseDockerfile(text, "my.Dockerfile"));
    assert.equal(e.context.line, line, text);
    assert.equal(e.context.file, "my.Dockerfile");
    assert.match(e.message, re, text);
    assert.match(e.message, new RegExp(`^Cannot convert "my.Dockerfile" line ${line} `));
  }
});
