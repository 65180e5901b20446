/** The CLI as a separate process (`deno run -A cli.ts …`), for tests that need exit codes and output. */

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const CLI = new URL("../../cli.ts", import.meta.url).pathname;

/** Runs `stacker args…` in `cwd` and returns its exit code and output. */
export async function runCliProcess(args: readonly string[], cwd: string): Promise<CliRun> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}
