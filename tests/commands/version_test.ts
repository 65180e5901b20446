import assert from "node:assert/strict";
import { versionCommand } from "../../lib/commands/version.ts";
import { memoryLogger } from "../../lib/util/log.ts";
import { STACKER_VERSION } from "../../lib/util/version.ts";

Deno.test("version prints one line naming the version", async () => {
  const lines: string[] = [];
  const code = await versionCommand.run({
    global: {
      stackerDir: "/s",
      ociDir: "/o",
      rootsDir: "/r",
      debug: false,
      quiet: false,
      progress: false,
      internalUserns: false,
    },
    flags: {},
    args: [],
    log: memoryLogger().log,
    signal: new AbortController().signal,
    env: {},
    argv: ["version"],
    print: (l) => lines.push(l),
  });
  assert.equal(code, 0);
  assert.deepEqual(lines, [`stacker ${STACKER_VERSION} (stacker-ts)`]);
});
