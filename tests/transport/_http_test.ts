import assert from "node:assert/strict";
import { type HttpSettings, retryAfterMs, send } from "../../lib/transport/_http.ts";
import { RegistryError } from "../../lib/util/errors.ts";
import { silentLogger } from "../../lib/util/log.ts";
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

Deno.test("send() bodies time out when the server stops sending", async () => {
  await using drip = startServer(() =>
    new Response(
      new ReadableStream({
        start(c) {
          c.enqueue(new Uint8Array(1));
        },
      }),
    )
  );
  const res = await send({ method: "GET", url: drip.url }, S);
  await assert.rejects(res.arrayBuffer(), /no data for 300 ms/);
});

Deno.test("send() bodies that drip bytes too slowly count as stalled", async () => {
  // one byte every 40 ms never leaves 300 ms without data, but is 8 bytes a window
  await using drip = startServer(() => {
    let n = 0;
    return new Response(
      new ReadableStream({
        async pull(c) {
          await new Promise((r) => setTimeout(r, 40));
          if (++n > 2000) c.close();
          else c.enqueue(new Uint8Array([n & 0xff]));
        },
      }),
    );
  });
  const res = await send({ method: "GET", url: drip.url }, S);
  await assert.rejects(res.arrayBuffer(), /stalled: \d+ bytes in 300 ms/);
});

Deno.test("send() bodies do not time out while the consumer, not the network, is slow", async () => {
  const data = new Uint8Array(64 * 1024).fill(7);
  await using srv = startServer(() => new Response(data));
  const res = await send({ method: "GET", url: srv.url }, S);
  const reader = res.body!.getReader();
  let total = 0;
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    total += r.value.byteLength;
    await new Promise((r) => setTimeout(r, 400)); // longer than idleTimeoutMs between reads
  }
  assert.equal(total, data.byteLength);
});
