import assert from "node:assert/strict";
import { BuildError } from "../../lib/util/errors.ts";
import { silentLogger } from "../../lib/util/log.ts";
import { grabCommand } from "../../lib/commands/grab.ts";
import type { CommandContext } from "../../lib/commands/types.ts";

function ctx(args: string[], stackerDir: string): CommandContext {
  return {
    global: {
      ociDir: `${stackerDir}/oci`,
      stackerDir,
      rootsDir: `${stackerDir}/roots`,
      debug: false,
      quiet: false,
      progress: false,
      internalUserns: false,
    },
    flags: {},
    args,
    log: silentLogger,
    signal: new AbortController().signal,
    env: {},
    argv: ["grab", ...args],
    print: () => {},
  };
}

Deno.test("grab refuses a malformed LAYER:PATH before touching anything", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const args of [[], ["nocolon"], ["a:/x", "b", "c"]]) {
      await assert.rejects(() => grabCommand.run(ctx(args, `${dir}/stacker`)), BuildError);
    }
    assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), [], "no stacker dir was created");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
