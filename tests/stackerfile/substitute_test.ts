import assert from "node:assert/strict";
import { StackerfileError } from "../../lib/util/errors.ts";
import { stackerfileError } from "./_catch.ts";
import { positionOf, resolveSubstitutions, substitute } from "../../lib/stackerfile/substitute.ts";

const subs = (...kv: string[]) => resolveSubstitutions({ substitute: kv });

Deno.test("substitute() replaces placeholders, defaults and keeps what it does not know", async (t) => {
  const cases: [string, string, string[], string][] = [
    ["plain value", "a: ${{X}}", ["X=1"], "a: 1"],
    ["value beats default", "a: ${{X:def}}", ["X=1"], "a: 1"],
    ["default used", "a: ${{X:def}}", [], "a: def"],
    ["empty default", "a: '${{X:}}'", [], "a: ''"],
    ["commas kept", "a: ${{X}}", ["X=a,b,c"], "a: a,b,c"],
    ["= in value", "a: ${{X}}", ["X=k=v"], "a: k=v"],
    ["first given wins", "a: ${{X}}", ["X=1", "X=2"], "a: 1"],
    ["several in one line", "${{A}}-${{B:x}}-${{A}}", ["A=1"], "1-x-1"],
    ["other shell vars left alone", "run: echo $HOME ${PATH}", ["X=1"], "run: echo $HOME ${PATH}"],
    ["longer name is not the key", "run: echo $XY", ["X=1"], "run: echo $XY"],
  ];
  for (const [name, text, kv, want] of cases) {
    await t.step(name, () => assert.equal(substitute(text, subs(...kv)), want));
  }
});

Deno.test("substitute() reports every missing value with its position", async () => {
  const err = await stackerfileError(() =>
    substitute("a: ${{ONE}}\nb:\n  c: x ${{TWO}}\n", [], "/s/stacker.yaml")
  );
  assert.equal(err.context.count, 2);
  assert.match(err.message, /\/s\/stacker\.yaml:1:4: no value for substitution ONE/);
  assert.match(err.message, /\/s\/stacker\.yaml:3:8: no value for substitution TWO/);
});

Deno.test("substitute() refuses shell-style uses of a given key (the guard rail)", async (t) => {
  for (const text of ["run: echo $KEY", "run: echo ${KEY}", "run: echo ${KEY:-x}", "run: [$KEY]"]) {
    await t.step(text, () => {
      try {
        substitute(text, subs("KEY=v"));
        assert.fail("no error");
      } catch (err) {
        assert.ok(err instanceof StackerfileError);
        assert.equal(err.code, "stackerfile.shell-placeholder");
        assert.match(err.message, /\$\{\{KEY\}\}/);
      }
    });
  }
  // Built-ins do not trip it: run scripts use $STACKER_… names of their own.
  const builtins = resolveSubstitutions({ dirs: { rootsDir: "/r" } });
  assert.equal(
    substitute("a: ${{STACKER_ROOTFS_DIR}} $STACKER_ROOTFS_DIR", builtins),
    "a: /r $STACKER_ROOTFS_DIR",
  );
});

Deno.test("resolveSubstitutions() orders --substitute, the substitute file, then the built-ins", () => {
  const got = resolveSubstitutions({
    substitute: ["A=cli", "B=x,y"],
    substituteFile: { path: "/s.yaml", text: "A: file\nC: 3\nD: ~\n" },
    dirs: { rootsDir: "/r", stackerDir: "/s", ociDir: "/o", workDir: "/w" },
  });
  assert.deepEqual(got.map((s) => [s.key, s.value, s.builtin ?? false]), [
    ["A", "cli", false],
    ["B", "x,y", false],
    ["C", "3", false],
    ["D", "", false],
    ["STACKER_ROOTFS_DIR", "/r", true],
    ["STACKER_STACKER_DIR", "/s", true],
    ["STACKER_OCI_DIR", "/o", true],
    ["STACKER_WORK_DIR", "/w", true],
  ]);
});

Deno.test("resolveSubstitutions() rejects a malformed --substitute and a non-map substitute file", async (t) => {
  for (const kv of ["NOEQUALS", "=v"]) {
    await t.step(kv, () => {
      assert.throws(
        () => resolveSubstitutions({ substitute: [kv] }),
        (e: unknown) => e instanceof StackerfileError && e.code === "stackerfile.bad-substitute",
      );
    });
  }
  for (const text of ["- a\n- b\n", "a: [1, 2]\n", "a: {b: 1}\n", "a: [\n"]) {
    await t.step(JSON.stringify(text), () => {
      assert.throws(
        () => resolveSubstitutions({ substituteFile: { path: "/f.yaml", text } }),
        (e: unknown) => e instanceof StackerfileError && e.code === "stackerfile.bad-substitute-file",
      );
    });
  }
});

Deno.test("positionOf() gives 1-based line and column", () => {
  assert.deepEqual(positionOf("ab\ncd\nef", 0), { line: 1, column: 1 });
  assert.deepEqual(positionOf("ab\ncd\nef", 4), { line: 2, column: 2 });
  assert.deepEqual(positionOf("ab\ncd\nef", 6), { line: 3, column: 1 });
});
