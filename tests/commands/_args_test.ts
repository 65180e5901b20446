import assert from "node:assert/strict";
import { parseArgs, withDefaults } from "../../lib/commands/_args.ts";
import { GLOBAL_FLAGS } from "../../lib/commands/_flags.ts";
import { findCommand } from "../../lib/commands/mod.ts";
import { StackerError } from "../../lib/util/errors.ts";

const flagsOf = (name: string) => findCommand(name)?.flags;

Deno.test("parseArgs() accepts global flags before and after the command", () => {
  const a = parseArgs(["--debug", "build", "--oci-dir", "out", "-f", "x.yaml"], GLOBAL_FLAGS, flagsOf);
  assert.equal(a.command, "build");
  assert.equal(a.flags["debug"], true);
  assert.equal(a.flags["oci-dir"], "out");
  assert.equal(a.flags["stacker-file"], "x.yaml");
});

Deno.test("parseArgs() keeps commas in repeatable --substitute values", () => {
  const a = parseArgs(
    ["build", "--substitute", "A=1,2,3", "--substitute=B=x=y"],
    GLOBAL_FLAGS,
    flagsOf,
  );
  assert.deepEqual(a.flags["substitute"], ["A=1,2,3", "B=x=y"]);
});

Deno.test("parseArgs() handles --no-X for booleans, -- and positionals", () => {
  const a = parseArgs(["--no-progress", "chroot", "layer1", "--", "-c", "echo"], GLOBAL_FLAGS, flagsOf);
  assert.equal(a.flags["progress"], false);
  assert.deepEqual(a.positionals, ["layer1", "-c", "echo"]);
});

Deno.test("parseArgs() refuses unknown flags, missing values and command flags before the command", async (t) => {
  const cases: [string, string[]][] = [
    ["unknown command flag", ["build", "--nope"]],
    ["missing value", ["build", "-f"]],
    ["command flag before command", ["-f", "x", "build"]],
    ["value on a boolean", ["--debug=yes", "build"]],
  ];
  for (const [name, argv] of cases) {
    await t.step(name, () => {
      assert.throws(
        () => parseArgs(argv, GLOBAL_FLAGS, flagsOf),
        (e) => e instanceof StackerError && e.code === "cli.usage",
      );
    });
  }
});

Deno.test("withDefaults() fills booleans, lists and declared defaults", () => {
  const specs = findCommand("build")!.flags;
  const v = withDefaults(specs, { "no-cache": true });
  assert.equal(v["no-cache"], true);
  assert.equal(v["shell-fail"], false);
  assert.deepEqual(v["substitute"], []);
  assert.equal(v["stacker-file"], "stacker.yaml");
  assert.equal(v["annotations-namespace"], "io.stackeroci");
});
