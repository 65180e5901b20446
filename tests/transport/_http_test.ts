import assert from "node:assert/strict";
import { type HttpSettings, retryAfterMs, send } from "../../lib/transport/_http.ts";
import { RegistryError } from "../../lib/util/errors.ts";
import { silentLogger } from "../../lib/util/log.ts";
import { FakeClock } from "../_helpers/fake_clock.ts";
import { startServer } from "./_servers.ts";

const S: HttpSettings = {
  retries: 2,
  baseDelayMs: 1,
  maxDelayMs: 20,
  headerTimeoutMs: 2000,
  idleTimeoutMs: 300,
  allowHttp: true,
  log: silentLogger,
};

Deno.test("retryAfterMs() reads seconds and dates", () => {
  assert.equal(retryAfterMs("3"), 3000);
  assert.equal(retryAfterMs(null), undefined);
  assert.ok(retryAfterMs(new Date(Date.now() + 5000).toUTCString())! > 3000);
});

Deno.test("send() refuses redirect loops, non-http targets and https downgrades", async () => {
  await using loop = startServer((req) =>
    new Response(null, { status: 302, headers: { location: new URL(req.url).pathname } })
  );
  await assert.rejects(
    send({ method: "GET", url: `${loop.url}/x` }, S),
    (e: unknown) => e instanceof RegistryError && /redirects/.test(e.message),
  );
  assert.equal(loop.seen.length, 11);
  await using file = startServer(() =>
    new Response(null, { status: 302, headers: { location: "file:///etc/passwd" } })
  );
  await assert.rejects(
    send({ method: "GET", url: file.url }, S),
    (e: unknown) => e instanceof RegistryError && e.code === "registry.bad-redirect",
  );
});

Deno.test("send() retries 5xx up to the budget and drops auth on another origin", async () => {
  let n = 0;
  await using flaky = startServer(() => new Response("x", { status: ++n < 3 ? 500 : 200 }));
  const res = await send({ method: "GET", url: flaky.url }, S);
  assert.equal(res.status, 200);
  await res.body?.cancel();
  assert.equal(n, 3);
  await using other = startServer(() => new Response("ok"));
  await using hop = startServer(() => new Response(null, { status: 307, headers: { location: other.url } }));
  const r2 = await send({ method: "GET", url: hop.url, authorization: "Bearer secret" }, S);
  await r2.body?.cancel();
  assert.equal(hop.seen[0].headers.get("authorization"), "Bearer secret");
  assert.equal(other.seen[0].headers.get("authorization"), null);
});

Deno.test("send() bodies time out when the server stops sending (fake clock)", async () => {
  await using drip = startServer(() =>
    new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(new Uint8Array(1));
        },
      }),
    )
  );
  const clock = new FakeClock();
  const res = await send({ method: "GET", url: drip.url }, { ...S, clock });
  await assert.rejects(clock.settle(res.arrayBuffer()), /no data for 300 ms/);
  assert.equal(clock.pending, 0);
});

Deno.test("send() gives up when response headers never come (fake clock)", async () => {
  const never = Promise.withResolvers<Response>();
  await using silent = startServer(() => never.promise);
  const clock = new FakeClock();
  await assert.rejects(
    clock.settle(send({ method: "GET", url: silent.url }, { ...S, retries: 0, clock }), 100),
    /no response within 2000 ms/,
  );
  assert.ok(clock.now() >= 2000);
  never.resolve(new Response("late"));
});

Deno.test("send() waits out Retry-After on its clock, capped by maxDelayMs", async () => {
  let n = 0;
  await using busy = startServer(() =>
    ++n === 1 ? new Response(null, { status: 429, headers: { "retry-after": "3600" } }) : new Response("ok")
  );
  const clock = new FakeClock();
  const res = await clock.settle(
    send({ method: "GET", url: busy.url }, { ...S, maxDelayMs: 5000, clock }),
    100,
  );
  assert.equal(await res.text(), "ok");
  assert.ok(clock.now() >= 5000, `waited ${clock.now()} ms of fake time`);
  assert.ok(clock.now() < 3_600_000);
});
