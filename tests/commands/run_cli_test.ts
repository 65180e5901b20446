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
  assert.match(new TextDecoder().decode(out.stdout), /^stacker \d+\.\d+\.\d+ liblxc \d+\.\d+\S*\n$/);
});

Deno.test("runCli() checks global flags before a command's --help, as stacker (log.bats)", async () => {
  const bad = await cli(["--debug", "--quiet", "build", "--help"]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^error: .*--debug and --quiet/);
  const debug = await cli(["--debug", "build", "--help"]);
  assert.equal(debug.code, 0);
  assert.match(debug.stdout, /^stacker build/);
  assert.match(debug.stderr, /stacker version \d+\.\d+\.\d+/);
  const quiet = await cli(["--quiet", "build", "--help"]);
  assert.equal(quiet.code, 0);
  assert.doesNotMatch(quiet.stderr, /stacker version/);
  const dir = await Deno.makeTempDir();
  try {
    const r = await cli(["--log-file", `${dir}/log`, "--debug", "build", "--help"]);
    assert.equal(r.code, 0);
    assert.equal(r.stderr, "");
    assert.match(await Deno.readTextFile(`${dir}/log`), /stacker version/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runCli() --version prints stacker's line: stacker <version> liblxc <version>", async () => {
  const r = await cli(["--version"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /^stacker \d+\.\d+\.\d+ liblxc \d+\.\d+\S*\n$/);
});
