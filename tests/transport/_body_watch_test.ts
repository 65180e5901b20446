// The idle and stall rules on a fake clock: every wait below is exact fake time, so the outcome
// cannot depend on how loaded the machine is.
import assert from "node:assert/strict";
import { MIN_BYTES_PER_WINDOW, watchBody } from "../../lib/transport/_body_watch.ts";
import { sleep } from "../../lib/util/clock.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";

const WINDOW = 300;

/** A response whose body yields `chunks[i]` after `delays[i]` fake ms of the reader waiting, then hangs or ends. */
function source(clock: FakeClock, steps: [delayMs: number, bytes: number][], end: "hang" | "close") {
  let i = 0;
  return new Response(
    new ReadableStream<Uint8Array>({
      async pull(c) {
        const step = steps[i++];
        if (!step) {
          if (end === "close") c.close();
          else await new Promise(() => {});
          return;
        }
        await sleep(step[0], undefined, clock);
        c.enqueue(new Uint8Array(step[1]).fill(i & 0xff));
      },
    }, { highWaterMark: 0 }),
  );
}

Deno.test("watchBody(): a peer that goes silent is idle after one full window, whatever waits came before", async () => {
  // The flaky case: 250 ms of waiting already in the window, then silence. The old rule called
  // this "stalled" 50 ms into the silence; it is idle, reported when the silence reaches 300 ms.
  const clock = new FakeClock();
  const res = watchBody(source(clock, [[250, 1]], "hang"), WINDOW, clock);
  await assert.rejects(clock.settle(res.arrayBuffer()), /^Error: no data for 300 ms$/);
  assert.ok(clock.now() >= 250 + WINDOW, `failed at ${clock.now()}`);
  assert.equal(clock.pending, 0, "the watchdog is gone");
});

Deno.test("watchBody(): a byte every 40 ms is stalled at the end of the first full window", async () => {
  const clock = new FakeClock();
  const drip = Array.from({ length: 1000 }, (): [number, number] => [40, 1]);
  const res = watchBody(source(clock, drip, "close"), WINDOW, clock);
  // 8 reads of 40 ms fill the 300 ms window with 8 bytes
  await assert.rejects(
    clock.settle(res.arrayBuffer()),
    /^Error: stalled: 8 bytes in 300 ms \(fewer than 1024\)$/,
  );
  assert.equal(clock.now(), 320);
  assert.equal(clock.pending, 0);
});

Deno.test("watchBody(): a slow body with enough bytes per window is neither idle nor stalled", async () => {
  const clock = new FakeClock();
  // 1 KiB after 290 ms of waiting each time: never a silent window, always enough bytes per window
  const steps = Array.from({ length: 20 }, (): [number, number] => [290, MIN_BYTES_PER_WINDOW]);
  const res = watchBody(source(clock, steps, "close"), WINDOW, clock);
  const data = new Uint8Array(await clock.settle(res.arrayBuffer()));
  assert.equal(data.byteLength, 20 * MIN_BYTES_PER_WINDOW);
  assert.equal(clock.now() >= 20 * 290, true);
  assert.equal(clock.pending, 0);
});

Deno.test("watchBody(): time the consumer spends between reads does not count", async () => {
  const clock = new FakeClock();
  const res = watchBody(source(clock, [[0, 10], [0, 10], [0, 10]], "close"), WINDOW, clock);
  const reader = res.body!.getReader();
  let total = 0;
  for (;;) {
    const r = await clock.settle(reader.read());
    if (r.done) break;
    total += r.value.byteLength;
    await clock.advance(10 * WINDOW); // ten windows of a busy consumer, no read pending
  }
  assert.equal(total, 30);
  assert.equal(clock.pending, 0);
});

Deno.test("watchBody(): cancelling the body stops the watchdog and the source", async () => {
  const clock = new FakeClock();
  let cancelled: unknown;
  const res = watchBody(
    new Response(
      new ReadableStream({ pull: () => new Promise(() => {}), cancel: (r) => void (cancelled = r) }),
    ),
    WINDOW,
    clock,
  );
  assert.equal(clock.pending, 1);
  await res.body!.cancel("enough");
  assert.equal(cancelled, "enough");
  assert.equal(clock.pending, 0);
  const empty = new Response(null, { status: 204 });
  assert.equal(watchBody(empty, WINDOW, clock), empty, "a body-less response is returned as it is");
});
