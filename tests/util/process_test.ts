import assert from "node:assert/strict";
import { processAlive, processCmdline, processStartTime } from "../../lib/util/process.ts";

Deno.test("processStartTime()/processAlive() name a process by pid and start time", async () => {
  const start = processStartTime(Deno.pid);
  assert.match(start ?? "", /^\d+$/);
  assert.equal(processAlive(Deno.pid), true);
  assert.equal(processAlive(Deno.pid, start), true);
  assert.equal(processAlive(Deno.pid, "1"), false); // a reused pid is not the same process
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  assert.equal(processStartTime(gone.pid), undefined);
  assert.equal(processAlive(gone.pid), false);
  assert.equal(processAlive(0), false);
});

Deno.test("processCmdline() reads the command line, or empty for a gone process", async () => {
  assert.match(await processCmdline(Deno.pid), /deno/);
  assert.equal(await processCmdline(0x7ffffff0), "");
});
