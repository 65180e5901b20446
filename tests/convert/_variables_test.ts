import assert from "node:assert/strict";
import {
  ArgScope,
  envExports,
  type EnvVar,
  platformArgs,
  Substitutions,
} from "../../lib/convert/_variables.ts";
import { lexWord, type Word } from "../../lib/convert/_words.ts";
import { StackerError } from "../../lib/util/errors.ts";

const where = { file: "Dockerfile", line: 4, keyword: "ARG" };
const w = (s: string): Word => lexWord(s, "\\", where);
const arg = (name: string, value?: string) => (value === undefined ? { name } : { name, value: w(value) });

Deno.test("Substitutions keeps first-set order, accepts the same value again and refuses another", () => {
  const s = new Substitutions();
  s.set("B", "1", where);
  s.set("A", "2", where);
  s.set("B", "1", where);
  assert.deepEqual(Object.entries(s.toRecord()), [["B", "1"], ["A", "2"]]);
  const copy = s.toRecord();
  copy.B = "changed";
  assert.equal(s.toRecord().B, "1", "toRecord() returns a copy");
  assert.throws(
    () => s.set("B", "3", where),
    (e) =>
      e instanceof StackerError && e.code === "convert.conflicting-arg" &&
      /line 4 \(ARG\): ARG B has the default "3" here and "1" before/.test(e.message),
  );
});

Deno.test("platformArgs() names the target and build platform of the arch", () => {
  const p = platformArgs("arm64");
  assert.equal(p.TARGETPLATFORM, "linux/arm64");
  assert.equal(p.BUILDARCH, "arm64");
  assert.equal(p.TARGETVARIANT, "");
});

Deno.test("ArgScope: ARGs are placeholders, defaults go to the substitutions, ENV comes first", () => {
  const subs = new Substitutions();
  const args = new ArgScope(subs, "amd64");
  args.declare(
    [arg("V", "1.0"), arg("BASE", "debian:${V}"), arg("NODEF"), arg("TARGETARCH")],
    undefined,
    where,
  );
  // An ARG default sees earlier ARGs by value, not as a placeholder.
  assert.deepEqual(subs.toRecord(), { V: "1.0", BASE: "debian:1.0", TARGETARCH: "amd64" });
  const before = args.lookup(undefined);
  assert.deepEqual(before("V"), { kind: "placeholder", key: "V" });
  assert.deepEqual(before("NODEF"), { kind: "placeholder", key: "NODEF", fallback: "" });
  assert.deepEqual(before("HOME"), { kind: "unknown" });
  const env = new Map<string, EnvVar>([["V", { value: "env" }], ["P", {}]]);
  const inStage = args.lookup(env);
  assert.deepEqual(inStage("V"), { kind: "value", value: "env" });
  assert.deepEqual(inStage("P"), { kind: "unknown" }, "an ENV only the base image could fill in");
  // A redeclared ARG without default keeps its default; a later default for NODEF fills it in.
  args.declare([arg("V"), arg("NODEF", "x")], undefined, where);
  assert.deepEqual(
    before("NODEF"),
    { kind: "placeholder", key: "NODEF" },
    "lookups read the scope when called",
  );
  assert.deepEqual(subs.toRecord(), { V: "1.0", BASE: "debian:1.0", TARGETARCH: "amd64", NODEF: "x" });
  assert.throws(() => args.declare([arg("V", "2")], undefined, where), /conflicting|two defaults/);
});

Deno.test("ArgScope.shellText() rewrites ARG references only", () => {
  const args = new ArgScope(new Substitutions(), "amd64");
  args.declare([arg("V", "1"), arg("E")], undefined, where);
  assert.equal(args.shellText("echo $V ${E} $HOME ${V:-d}", where), "echo ${{V}} ${{E:}} $HOME ${{V:d}}");
});

Deno.test("envExports() evaluates every pair against the environment before the instruction", () => {
  const args = new ArgScope(new Substitutions(), "amd64");
  args.declare([arg("V", "1")], undefined, where);
  const env = new Map<string, EnvVar>([["A", { value: "old" }]]);
  const out = envExports(
    [
      { key: w("A"), value: w("new") },
      { key: w("B"), value: w("$A") },
      { key: w("PATH"), value: w("/x:$PATH") },
      { key: w("C"), value: w("v$V") },
      { key: w("D"), value: w("a b") },
    ],
    args.lookup(env),
    where,
  );
  assert.deepEqual(out, [
    { name: "A", variable: { value: "new" }, line: "export A=new" },
    { name: "B", variable: { value: "old" }, line: "export B=old" },
    { name: "PATH", variable: { value: undefined }, line: 'export PATH="/x:${PATH}"' },
    { name: "C", variable: { value: "v${{V}}" }, line: 'export C="v${{V}}"' },
    { name: "D", variable: { value: "a b" }, line: "export D='a b'" },
  ]);
  assert.throws(
    () => envExports([{ key: w("1A"), value: w("x") }], args.lookup(env), where),
    (e) => e instanceof StackerError && e.code === "convert.syntax",
  );
  assert.throws(
    () => envExports([{ key: w("$A"), value: w("x") }], args.lookup(env), where),
    (e) => e instanceof StackerError && e.code === "convert.syntax",
  );
});
