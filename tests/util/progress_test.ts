import assert from "node:assert/strict";
import { humanSize, makeProgress } from "../../lib/util/progress.ts";
import { memoryLogger } from "../../lib/util/log.ts";

Deno.test("progress without a terminal prints one summary line per item", () => {
  const { log, lines } = memoryLogger();
  const p = makeProgress({ bars: false, log, write: () => assert.fail("no bars without a terminal") });
  const it = p.item("blob sha256:abc", 2048);
  it.advance(1024);
  it.advance(1024);
  it.done("verified");
  assert.equal(lines.length, 1);
  assert.match(lines[0], /^blob sha256:abc: 2\.0 KiB in \d+\.\ds \(verified\)$/);
});

Deno.test("progress on a terminal redraws one bar and ends it with a newline", () => {
  const out: string[] = [];
  const p = makeProgress({ bars: true, log: memoryLogger().log, write: (t) => out.push(t) });
  const it = p.item("layer", 100);
  it.advance(50);
  it.done();
  assert.ok(out.length >= 1);
  assert.match(out.at(-1)!, /^\rlayer \[#+\.*\] 50% 50 B \/ 100 B\n$/);
});

Deno.test("humanSize() uses binary units", () => {
  assert.equal(humanSize(0), "0 B");
  assert.equal(humanSize(1536), "1.5 KiB");
  assert.equal(humanSize(5 * 1024 ** 3), "5.0 GiB");
});
