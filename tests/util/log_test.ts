import assert from "node:assert/strict";
import { Logger, memoryLogger } from "../../lib/util/log.ts";

Deno.test("Logger filters by level and appends fields", () => {
  const lines: string[] = [];
  const log = new Logger({ level: "info", sink: (l) => lines.push(l) });
  log.debug("hidden");
  log.info("found cached layer x", { layer: "x" });
  log.with({ digest: "sha256:1" }).warn("slow mirror", { note: "two words" });
  assert.deepEqual(lines, [
    "found cached layer x layer=x",
    'warn: slow mirror digest=sha256:1 note="two words"',
  ]);
});

Deno.test("Logger.warnOnce() prints a repeated condition once across derived loggers", () => {
  const { log, lines } = memoryLogger();
  log.warnOnce("dev", "skipping device nodes");
  log.with({ layer: "a" }).warnOnce("dev", "skipping device nodes");
  assert.equal(lines.length, 1);
});

Deno.test("quiet logging (level error) drops warnings", () => {
  const { log, lines } = memoryLogger("error");
  log.warn("w");
  log.error("e");
  assert.deepEqual(lines, ["error: e"]);
});
