import assert from "node:assert/strict";
import { sleep, systemClock } from "../../lib/util/clock.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";

Deno.test("sleep() resolves when its clock reaches the time, not before", async () => {
  const clock = new FakeClock();
  let done = false;
  const p = sleep(500, undefined, clock).then(() => done = true);
  await clock.advance(499);
  assert.equal(done, false);
  await clock.advance(1);
  await p;
  assert.equal(done, true);
  assert.equal(clock.pending, 0);
});

Deno.test("sleep() rejects with the signal's reason and leaves no timer", async () => {
  const clock = new FakeClock();
  const ac = new AbortController();
  const p = sleep(500, ac.signal, clock);
  ac.abort(new Error("stop"));
  await assert.rejects(p, /stop/);
  assert.equal(clock.pending, 0);
  await assert.rejects(sleep(1, ac.signal, clock), /stop/, "an aborted signal rejects at once");
  assert.equal(clock.pending, 0);
});

Deno.test("systemClock: monotonic now(), repeating and cancelled timers", async () => {
  const a = systemClock.now();
  await sleep(5);
  assert.ok(systemClock.now() >= a);
  let n = 0;
  const done = Promise.withResolvers<void>();
  const t = systemClock.timer(
    () => {
      if (++n === 3) done.resolve();
    },
    1,
    { repeat: true },
  );
  await done.promise;
  t.cancel();
  const seen = n;
  let fired = false;
  systemClock.timer(() => fired = true, 1).cancel();
  await sleep(20);
  assert.equal(n, seen, "a cancelled interval stops");
  assert.equal(fired, false, "a cancelled timeout never fires");
});
