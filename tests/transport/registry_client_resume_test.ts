/**
 * Resuming an interrupted chunked upload against the real registry (docker-registry 2.8): a TCP
 * proxy between client and registry cuts the connection in the middle of a PATCH.
 *
 * What the registry does decides which path is taken: distribution writes a PATCH body straight to
 * storage, and refuses (and cancels) an upload whose stored size differs from the offset in its
 * upload state. So a cut after the headers, before body bytes reached it, is resumable (GET on the
 * location answers 204 with `Range: 0-<last>`); a cut after part of the body is not, and the client
 * starts over once.
 */
import assert from "node:assert/strict";
import { startRegistry } from "../../scripts/fixtures/mod.ts";
import { type Digest, sha256Digest } from "../../lib/oci/mod.ts";
import { RegistryClient } from "../../lib/transport/mod.ts";
import { RegistryError } from "../../lib/util/errors.ts";
import { memoryLogger } from "../../lib/util/log.ts";
import { startProxy } from "./_servers.ts";

const CHUNK = 64 * 1024;
const SIZE = 5 * CHUNK + 1000;

/** A blob of random bytes: 5 full chunks and a short one. */
function blob(): { bytes: Uint8Array; desc: { digest: Digest; size: number } } {
  const bytes = new Uint8Array(SIZE);
  for (let off = 0; off < bytes.length; off += 65536) {
    crypto.getRandomValues(bytes.subarray(off, Math.min(bytes.length, off + 65536)));
  }
  return { bytes, desc: { digest: sha256Digest(bytes), size: bytes.length } };
}

/** A fresh stream of `bytes` in 10 000-byte pieces (not aligned to chunks, as file reads are not). */
function streamOf(bytes: Uint8Array): ReadableStream<Uint8Array> {
  let off = 0;
  return new ReadableStream({
    pull(c) {
      if (off >= bytes.length) return c.close();
      c.enqueue(bytes.slice(off, off + 10_000));
      off += 10_000;
    },
  });
}

/** One request as the TCP proxy passed it to the registry. */
interface Seen {
  readonly method: string;
  /** Without the query (upload locations carry their state there). */
  readonly path: string;
  readonly range?: string;
  /** The proxy closed the connection in the middle of this request. */
  readonly cut: boolean;
}

interface CutOptions {
  /** Which PATCH (1-based) to cut, once. */
  readonly patch: number;
  /** How many of its body bytes reach the registry before the cut. */
  readonly bodyBytes: (contentLength: number) => number;
  /**
   * Send every request on its own connection (`Connection: close` to the registry). Deno's fetch
   * silently re-sends a request whose reused keep-alive connection broke; on a fresh connection the
   * break reaches the client code.
   */
  readonly fresh: boolean;
}

/**
 * A TCP proxy to `target` that follows the HTTP/1.1 requests passing through (request line,
 * headers, Content-Length bodies) and closes both sides of the connection during PATCH number
 * `cut.patch`, after `cut.bodyBytes` of its body.
 */
function startCuttingProxy(target: { hostname: string; port: number }, cut: CutOptions) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const seen: Seen[] = [];
  const open = new Set<Deno.Conn>();
  const enc = new TextEncoder(), dec = new TextDecoder();
  let patches = 0;
  const closeAll = (conns: Iterable<Deno.Conn>) => {
    for (const c of [...conns]) {
      if (!open.delete(c)) continue;
      try {
        c.close();
      } catch { /* its stream closed it already */ }
    }
  };
  const serve = async (client: Deno.Conn) => {
    const upstream = await Deno.connect(target);
    open.add(client).add(upstream);
    const close = () => closeAll([client, upstream]);
    const back = upstream.readable.pipeTo(client.writable, { preventClose: true }).catch(() => {})
      .finally(close);
    let buf = new Uint8Array(0);
    let bodyLeft = 0, cutAfter = -1;
    try {
      for await (const piece of client.readable) {
        const joined = new Uint8Array(buf.length + piece.length);
        joined.set(buf);
        joined.set(piece, buf.length);
        buf = joined;
        while (buf.length > 0 || cutAfter === 0) {
          if (cutAfter === 0) return;
          if (bodyLeft > 0) {
            const n = Math.min(bodyLeft, buf.length, cutAfter >= 0 ? cutAfter : Infinity);
            await upstream.write(buf.subarray(0, n));
            bodyLeft -= n;
            buf = buf.subarray(n);
            if (cutAfter > 0) cutAfter -= n;
            continue;
          }
          // headers are ASCII: a character index is a byte index
          const end = dec.decode(buf).indexOf("\r\n\r\n");
          if (end < 0) break;
          const head = dec.decode(buf.subarray(0, end)).split("\r\n");
          buf = buf.subarray(end + 4);
          const [method, path] = head[0].split(" ");
          const header = (name: string) =>
            head.find((h) => h.toLowerCase().startsWith(`${name}:`))?.slice(name.length + 1).trim();
          bodyLeft = Number(header("content-length") ?? 0);
          const isCut = method === "PATCH" && ++patches === cut.patch;
          seen.push({ method, path: path.split("?")[0], range: header("content-range"), cut: isCut });
          if (isCut) cutAfter = cut.bodyBytes(bodyLeft);
          const out = cut.fresh
            ? [...head.filter((h) => !h.toLowerCase().startsWith("connection:")), "Connection: close"]
            : head;
          await upstream.write(enc.encode(out.join("\r\n") + "\r\n\r\n"));
        }
      }
    } catch {
      /* a side went away */
    } finally {
      close();
      await back;
    }
  };
  const accepting = (async () => {
    for await (const c of listener) serve(c);
  })().catch(() => {});
  return {
    host: `127.0.0.1:${(listener.addr as Deno.NetAddr).port}`,
    seen,
    /** The requests, one line each, for assertion messages. */
    text: () => seen.map((s) => `${s.method} ${s.path} ${s.range ?? ""}${s.cut ? " (cut)" : ""}`).join("\n"),
    async [Symbol.asyncDispose]() {
      listener.close();
      closeAll(open);
      await accepting;
    },
  };
}

/** Pushes a fresh blob through a cutting proxy; checks it arrived byte-identical (read directly). */
async function pushThroughCut(cut: CutOptions) {
  await using reg = await startRegistry();
  const [hostname, port] = reg.host.split(":");
  await using proxy = startCuttingProxy({ hostname, port: Number(port) }, cut);
  const { bytes, desc } = blob();
  const { log, lines } = memoryLogger("info");
  using client = await RegistryClient.connect({
    registry: proxy.host,
    chunkSize: CHUNK,
    baseDelayMs: 10,
    log,
  });
  const result = await client.pushBlob("resume/a", desc, () => Promise.resolve(streamOf(bytes)));
  assert.equal(result, "uploaded", proxy.text());
  using direct = await RegistryClient.connect({ registry: reg.host });
  const back = new Uint8Array(await new Response(await direct.openBlob("resume/a", desc)).arrayBuffer());
  assert.equal(sha256Digest(back), desc.digest);
  assert.deepEqual(back, bytes);
  return { seen: [...proxy.seen], text: proxy.text(), lines };
}

Deno.test("a chunked upload cut during the second PATCH resumes at the offset the registry reports", async () => {
  const { seen, text, lines } = await pushThroughCut({ patch: 2, bodyBytes: () => 0, fresh: true });
  const cut = seen.findIndex((s) => s.cut);
  assert.ok(cut > 0, text);
  assert.equal(seen[cut].range, `${CHUNK}-${2 * CHUNK - 1}`, text);
  const after = seen.slice(cut + 1);
  assert.equal(after[0].method, "GET", text);
  assert.equal(after[0].path, seen[cut].path, `the progress question goes to the upload location\n${text}`);
  assert.equal(after[1].method, "PATCH", text);
  assert.equal(
    after[1].range,
    `${CHUNK}-${2 * CHUNK - 1}`,
    `the PATCH after it starts at the reported offset\n${text}`,
  );
  assert.equal(seen.filter((s) => s.method === "POST").length, 1, `no restart\n${text}`);
  assert.deepEqual(after.slice(2).map((s) => s.range ?? s.method), [
    `${2 * CHUNK}-${3 * CHUNK - 1}`,
    `${3 * CHUNK}-${4 * CHUNK - 1}`,
    `${4 * CHUNK}-${5 * CHUNK - 1}`,
    `${5 * CHUNK}-${SIZE - 1}`,
    "PUT",
  ], text);
  assert.ok(lines.some((l) => l.includes(`at byte ${CHUNK}`)), lines.join("\n"));
});

Deno.test("a PATCH cut after part of its body, which the registry then refuses, starts over once", async () => {
  const { seen, text, lines } = await pushThroughCut({ patch: 2, bodyBytes: (n) => n / 2, fresh: true });
  const cut = seen.findIndex((s) => s.cut);
  const after = seen.slice(cut + 1).map((s) => `${s.method} ${s.range ?? ""}`.trim());
  assert.deepEqual(after.slice(0, 4), ["GET", "DELETE", "POST", `PATCH 0-${CHUNK - 1}`], text);
  assert.equal(after.at(-1), "PUT", text);
  assert.ok(lines.some((l) => l.includes("from scratch")), lines.join("\n"));
});

Deno.test("a cut on a reused connection (fetch re-sends the PATCH itself) still completes the upload", async () => {
  const { seen, text } = await pushThroughCut({ patch: 2, bodyBytes: (n) => n / 2, fresh: false });
  assert.ok(seen.some((s) => s.cut), text);
  assert.equal(seen.at(-1)?.method, "PUT", text);
});

Deno.test("a registry that cannot report upload progress gets the upload once more from scratch", async () => {
  await using reg = await startRegistry();
  await using proxy = startProxy(reg.url);
  let patches = 0;
  proxy.fault = (req, url) => {
    if (req.method === "PATCH" && ++patches === 2) return new Response("boom", { status: 500 });
    if (req.method === "GET" && url.pathname.includes("/blobs/uploads/")) {
      return new Response("", { status: 405 });
    }
    return undefined;
  };
  const { bytes, desc } = blob();
  using client = await RegistryClient.connect({ registry: proxy.host, chunkSize: CHUNK, baseDelayMs: 10 });
  assert.equal(await client.pushBlob("resume/b", desc, () => Promise.resolve(streamOf(bytes))), "uploaded");
  assert.equal(
    sha256Digest(await (await fetch(`${reg.url}/v2/resume/b/blobs/${desc.digest}`)).bytes()),
    desc.digest,
  );
  const methods = proxy.seen.map((s) => s.method);
  assert.equal(methods.filter((m) => m === "POST").length, 2, methods.join(" "));
  assert.ok(methods.includes("DELETE"), "the abandoned upload is cancelled");
  const ranges = proxy.seen.filter((s) => s.method === "PATCH").map((s) => s.headers.get("content-range"));
  assert.deepEqual(ranges.slice(0, 3), [`0-${CHUNK - 1}`, `${CHUNK}-${2 * CHUNK - 1}`, `0-${CHUNK - 1}`]);
});

Deno.test("an upload whose chunks keep failing stops after one restart with a clear error", async () => {
  await using reg = await startRegistry();
  await using proxy = startProxy(reg.url);
  proxy.fault = (req) => req.method === "PATCH" ? new Response("boom", { status: 503 }) : undefined;
  const { bytes, desc } = blob();
  using client = await RegistryClient.connect({
    registry: proxy.host,
    chunkSize: CHUNK,
    retries: 2,
    baseDelayMs: 5,
  });
  const err = await client.pushBlob("resume/c", desc, () => Promise.resolve(streamOf(bytes)))
    .then(() => undefined, (e) => e);
  assert.ok(err instanceof RegistryError, String(err));
  assert.equal(err.code, "registry.upload-interrupted");
  assert.match(
    err.message,
    new RegExp(
      `^Cannot upload "${desc.digest}" to "resume/c": it broke at byte 0 of ${SIZE} after a restart`,
    ),
  );
  assert.equal(proxy.seen.filter((s) => s.method === "POST").length, 2, "one restart, no more");
  // per upload session: the first PATCH and one more after each of `retries` progress answers
  assert.equal(proxy.seen.filter((s) => s.method === "PATCH").length, 2 * 3);
});
