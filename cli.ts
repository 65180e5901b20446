#!/usr/bin/env -S deno run -A
/** The `stacker` entry point: hands argv and the process environment to the CLI driver. */

const enc = new TextEncoder();

// The run helper is started once per container run: it loads only the runtime, not every command
// (about 110 ms instead of 290 ms of module loading per run step).
if (Deno.args[0] === "internal-run") {
  const { runInternal } = await import("./lib/commands/internal_run.ts");
  let code: number;
  try {
    code = await runInternal(Deno.args.slice(1));
  } catch (err) {
    Deno.stderr.writeSync(enc.encode(`error: ${err instanceof Error ? err.message : String(err)}\n`));
    code = 125;
  }
  Deno.exit(code);
}

const { runCli } = await import("./lib/commands/run_cli.ts");
const controller = new AbortController();
try {
  Deno.addSignalListener("SIGINT", () => controller.abort(new Error("interrupted")));
} catch { /* no signal support on this platform */ }

const code = await runCli(Deno.args, {
  stdout: (t) => Deno.stdout.writeSync(enc.encode(t)),
  stderr: (t) => Deno.stderr.writeSync(enc.encode(t)),
  env: Deno.env.toObject(),
  cwd: Deno.cwd(),
  signal: controller.signal,
});
Deno.exit(code);
