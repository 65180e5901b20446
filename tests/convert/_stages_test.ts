import assert from "node:assert/strict";
import { type OpenStageOptions, StageTable } from "../../lib/convert/_stages.ts";
import { Substitutions } from "../../lib/convert/_variables.ts";
import type { VarLookup } from "../../lib/convert/_words.ts";
import { type Instruction, parseDockerfile } from "../../lib/convert/dockerfile.ts";
import { StackerError } from "../../lib/util/errors.ts";

type From = Instruction & { kind: "from" };

const lookup: VarLookup = (n) => (n === "BASE" ? { kind: "placeholder", key: "BASE" } : { kind: "unknown" });

/** The FROM instructions of `text` and an opener that passes `subs` and whether each is last. */
function froms(text: string, subs = new Substitutions()) {
  const all = parseDockerfile(text).instructions.filter((i): i is From => i.kind === "from");
  const opts = (i: number): OpenStageOptions => ({
    isLast: i === all.length - 1,
    index: i,
    where: { file: "Dockerfile", line: all[i].line, keyword: "FROM" },
    subs,
    lookup,
  });
  return { all, opts, subs };
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof StackerError, `expected a StackerError, got ${e}`);
    return e.code;
  }
  assert.fail("expected a StackerError");
}

Deno.test("StageTable.open() names stages, marks all but the last build_only and picks the base type", () => {
  const { all, opts, subs } = froms("FROM busybox AS Tools\nFROM $BASE\nFROM tools\nFROM scratch\n");
  const t = new StageTable();
  const stages = all.map((f, i) => t.open(f, opts(i)));
  assert.deepEqual(stages.map((s) => s.name), ["tools", "stage1", "stage2", "${{IMAGE}}"]);
  assert.deepEqual(stages.map((s) => s.buildOnly), [true, true, true, false]);
  assert.deepEqual(stages.map((s) => s.from), [
    { type: "docker", url: "docker://busybox" },
    { type: "docker", url: "docker://${{BASE}}" },
    { type: "built", tag: "tools" },
    { type: "scratch" },
  ]);
  assert.deepEqual(subs.toRecord(), { IMAGE: "app" });
  assert.deepEqual(t.all, stages);
  assert.equal(t.layerName("tools"), "tools");
  assert.equal(t.layerName("1"), "stage1");
  assert.equal(t.layerName("3"), "${{IMAGE}}");
  assert.equal(t.layerName("4"), undefined);
  assert.equal(t.layerName("busybox"), undefined);
});

Deno.test("StageTable.open() gives a built stage a copy of its parent's ENV, exports, WORKDIR and USER", () => {
  const { all, opts } = froms("FROM busybox AS one\nFROM one\n");
  const t = new StageTable();
  const one = t.open(all[0], opts(0));
  one.state.env.set("A", { value: "1" });
  one.state.exports.push("export A=1");
  one.state.workdir = "/w";
  one.state.user = "app";
  const two = t.open(all[1], opts(1));
  assert.deepEqual(two.state, {
    env: new Map([["A", { value: "1" }]]),
    exports: ["export A=1"],
    workdir: "/w",
    user: "app",
  });
  two.state.env.set("B", { value: "2" });
  two.state.exports.push("export B=2");
  assert.equal(one.state.env.has("B"), false);
  assert.deepEqual(one.state.exports, ["export A=1"]);
  two.script.run("pwd", undefined);
  assert.deepEqual(two.script.lines, ["export A=1", "cd /w", "sh -e -c 'pwd'"]);
  assert.deepEqual(one.script.lines, []);
});

Deno.test("StageTable.open() refuses FROM flags, the name config and a name used twice", () => {
  const flag = froms("FROM --platform=linux/arm64 busybox\n");
  assert.equal(codeOf(() => new StageTable().open(flag.all[0], flag.opts(0))), "convert.unsupported-flag");
  const config = froms("FROM busybox AS config\n");
  assert.equal(codeOf(() => new StageTable().open(config.all[0], config.opts(0))), "convert.bad-stage");
  const twice = froms("FROM a AS x\nFROM b AS x\n");
  const t = new StageTable();
  t.open(twice.all[0], twice.opts(0));
  assert.equal(codeOf(() => t.open(twice.all[1], twice.opts(1))), "convert.bad-stage");
  assert.equal(t.all.length, 1, "a refused stage is not added");
  const unknown = froms("FROM $NOPE\n");
  assert.equal(
    codeOf(() => new StageTable().open(unknown.all[0], unknown.opts(0))),
    "convert.unknown-variable",
  );
});
