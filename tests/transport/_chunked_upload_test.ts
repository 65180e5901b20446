import assert from "node:assert/strict";
import { rechunk, uploadedBytes } from "../../lib/transport/_chunked_upload.ts";

/** A stream giving `pieces` as they are, one per read. */
function streamOf(pieces: Uint8Array[]): ReadableStream<Uint8Array> {
  return ReadableStream.from(pieces);
}

/** Bytes 0..n-1 (mod 256), cut into pieces of the given lengths. */
function piecesOf(lengths: number[]): { all: Uint8Array; pieces: Uint8Array[] } {
  const all = Uint8Array.from({ length: lengths.reduce((a, b) => a + b, 0) }, (_, i) => i % 256);
  const pieces: Uint8Array[] = [];
  let at = 0;
  for (const n of lengths) {
    pieces.push(all.slice(at, at + n));
    at += n;
  }
  return { all, pieces };
}

async function collect(gen: AsyncGenerator<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of gen) out.push(c);
  return out;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((a, c) => a + c.byteLength, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

Deno.test("rechunk() re-cuts pieces of any size into chunks of exactly the size, the last shorter", async (t) => {
  const cases: { name: string; lengths: number[]; size: number; want: number[] }[] = [
    { name: "small pieces gathered", lengths: [3, 3, 3, 3], size: 5, want: [5, 5, 2] },
    { name: "one large piece split", lengths: [23], size: 10, want: [10, 10, 3] },
    { name: "exact multiple, no empty tail", lengths: [7, 13], size: 10, want: [10, 10] },
    { name: "empty pieces ignored", lengths: [0, 4, 0, 4], size: 3, want: [3, 3, 2] },
    { name: "empty stream", lengths: [], size: 4, want: [] },
  ];
  for (const c of cases) {
    await t.step(c.name, async () => {
      const { all, pieces } = piecesOf(c.lengths);
      const chunks = await collect(rechunk(streamOf(pieces), c.size, 0));
      assert.deepEqual(chunks.map((x) => x.byteLength), c.want);
      assert.deepEqual(concat(chunks), all);
    });
  }
});

Deno.test("rechunk() leaves out the first `skip` bytes, across piece boundaries", async () => {
  const { all, pieces } = piecesOf([4, 4, 4, 4, 4]);
  const chunks = await collect(rechunk(streamOf(pieces), 6, 9));
  assert.deepEqual(chunks.map((x) => x.byteLength), [6, 5]);
  assert.deepEqual(concat(chunks), all.subarray(9));
});

Deno.test("rechunk() yields a fresh buffer each time, so a kept chunk is not overwritten", async () => {
  const { all, pieces } = piecesOf([8]);
  const chunks = await collect(rechunk(streamOf(pieces), 4, 0));
  assert.deepEqual(chunks[0], all.subarray(0, 4));
  assert.deepEqual(chunks[1], all.subarray(4, 8));
});

Deno.test("rechunk() cancels the stream when the consumer returns early", async () => {
  let cancelled: unknown = "no";
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      c.enqueue(new Uint8Array(4));
    },
    cancel(reason) {
      cancelled = reason;
    },
  });
  const gen = rechunk(stream, 4, 0);
  assert.equal((await gen.next()).value?.byteLength, 4);
  await gen.return(undefined);
  assert.notEqual(cancelled, "no");
});

Deno.test("uploadedBytes() reads the registry's Range as the offset to resume at", async (t) => {
  const cases: [string | null, number | undefined][] = [
    ["0-99", 100],
    ["bytes=0-99", 100],
    [" 0-4095 ", 4096],
    ["0-0", 0], // distribution's answer for 0 bytes (and for 1): resume from the start
    ["10-99", undefined], // not from the start: not a progress answer
    ["0-", undefined],
    ["bytes 0-99/100", undefined], // a Content-Range, not a Range
    ["", undefined],
    [null, undefined],
  ];
  for (const [range, want] of cases) {
    await t.step(`${JSON.stringify(range)} -> ${want}`, () => {
      assert.equal(uploadedBytes(range), want);
    });
  }
});
