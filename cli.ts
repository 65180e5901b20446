#!/usr/bin/env -S deno run -A
/** The `stacker` entry point: hands argv and the process environment to the CLI driver. */
import { runCli } from "./lib/commands/run_cli.ts";

const enc = new TextEncoder();
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
