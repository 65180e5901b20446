/**
 * How this program starts itself again (the run helper, the user-namespace re-exec): the compiled
 * executable alone, or the Deno executable running cli.ts with all permissions from the module cache.
 */

import { distLayout } from "../util/dist.ts";

/** The entry point cli.ts as a path, when this module was loaded from a file. */
export function cliPath(): string | undefined {
  const url = new URL("../../cli.ts", import.meta.url);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : undefined;
}

/** Whether this process is a `deno compile`d executable: its modules live in the embedded fs. */
export function isCompiled(): boolean {
  return import.meta.url.includes("/deno-compile-");
}

/**
 * argv that starts this program again; append a command and its arguments. Under `deno run`:
 * `[deno, "run", "-A", "--cached-only", <abs cli.ts>]` (the re-run must not fetch anything);
 * compiled: `[<executable>]`. When loaded over http(s) the URL of cli.ts is used.
 */
export function selfCommand(): string[] {
  if (isCompiled()) return [Deno.execPath()];
  const path = cliPath() ?? new URL("../../cli.ts", import.meta.url).href;
  // A dist's copy ignores any deno.json where it is started: its dependencies are bundled.
  const config = distLayout() ? ["--no-config"] : [];
  return [Deno.execPath(), "run", "-A", "--cached-only", ...config, path];
}
