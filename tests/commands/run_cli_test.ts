import assert from "node:assert/strict";
import { runCli } from "../../lib/commands/run_cli.ts";
import { COMMANDS } from "../../lib/commands/mod.ts";

async function cli(argv: string[], env: Record<string, string> = { HOME: "/nonexistent" }) {
  let stdout = "", stderr = "";
  const code = await runCli(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    env,
    cwd: "/tmp",
  });
  return { code, stdout, stderr };
}

Deno.test("runCli() with no arguments prints help listing every command and exits 0", async () => {
  const r = await cli([]);
  assert.equal(r.code, 0);
  for (const c of COMMANDS.filter((c) => !c.hidden)) assert.match(r.stdout, new RegExp(`\\n  ${c.name}`));
});

Deno.test("runCli() prints --help for each command", async () => {
  for (const c of COMMANDS) {
    const r = await cli([c.name, "--help"]);
    assert.equal(r.code, 0, c.name);
    assert.match(r.stdout, new RegExp(`^stacker ${c.name}`));
  }
});

Deno.test("runCli() reports an unknown command on one stderr line with exit 1", async () => {
  const r = await cli(["frobnicate"]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split("\n").length, 1);
  assert.match(r.stderr, /^error: Cannot run "frobnicate": no such command/);
});

Deno.test("runCli() refuses a non-integer SOURCE_DATE_EPOCH", async () => {
  const r = await cli(["version"], { HOME: "/nonexistent", SOURCE_DATE_EPOCH: "yesterday" });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /invalid SOURCE_DATE_EPOCH value "yesterday"/);
});

Deno.test("runCli() --debug adds the stack after the one error line", async () => {
  const r = await cli(["--debug", "frobnicate"]);
  assert.equal(r.code, 1);
  assert.ok(r.stderr.split("\n").length > 2);
});

Deno.test("cli.ts version runs as a process and prints the version", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../cli.ts", import.meta.url).pathname, "--version"],
    stdout: "piped",
  }).output();
  assert.equal(out.code, 0);
  assert.match(new TextDecoder().decode(out.stdout), /^stacker \d+\.\d+\.\d+/);
});
