import assert from "node:assert/strict";
import { DigestStream, parseDigest, readBounded, sha256Digest } from "../../lib/oci/digest.ts";
import { OciError } from "../../lib/util/errors.ts";
import type { Digest } from "../../lib/oci/types.ts";

const HELLO = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

Deno.test("parseDigest() accepts sha256/sha512 and refuses anything that could become a path", async (t) => {
  await t.step("valid sha256", () => assert.equal(parseDigest(HELLO), HELLO));
  await t.step("valid sha512", () => {
    const d = `sha512:${"a".repeat(128)}`;
    assert.equal(parseDigest(d), d);
  });
  for (
    const bad of [
      "",
      "sha256:",
      "sha256:../../etc/passwd",
      `sha256:${"A".repeat(64)}`,
      `sha256:${"a".repeat(63)}`,
      `md5:${"a".repeat(32)}`,
      `sha256:${"a".repeat(64)}/x`,
      42,
      undefined,
    ]
  ) {
    await t.step(`refuses ${JSON.stringify(bad)}`, () => {
      assert.throws(
        () => parseDigest(bad),
        (e: unknown) => e instanceof OciError && e.code === "oci.bad-digest",
      );
    });
  }
});

Deno.test("sha256Digest() hashes bytes and strings alike", () => {
  assert.equal(sha256Digest("hello"), HELLO);
  assert.equal(sha256Digest(new TextEncoder().encode("hello")), HELLO);
});

async function drain(s: ReadableStream<Uint8Array>): Promise<number> {
  let n = 0;
  for await (const c of s) n += c.byteLength;
  return n;
}

const enc = (s: string) => new TextEncoder().encode(s);

Deno.test("DigestStream verifies digest and size at EOF", async (t) => {
  await t.step("passes matching bytes and reports digest and size", async () => {
    const v = new DigestStream({ digest: HELLO, size: 5 });
    assert.equal(await drain(ReadableStream.from([enc("hel"), enc("lo")]).pipeThrough(v)), 5);
    assert.deepEqual(await v.result, { digest: HELLO, size: 5 });
  });
  await t.step("computes the digest when none is expected", async () => {
    const v = new DigestStream();
    await drain(ReadableStream.from([enc("hello")]).pipeThrough(v));
    assert.equal((await v.result).digest, HELLO);
  });
  const cases: [string, string[], number, string][] = [
    ["wrong bytes", ["hellO"], 5, "oci.digest-mismatch"],
    ["too short", ["hell"], 5, "oci.size-mismatch"],
    ["too long", ["hello", "!"], 5, "oci.size-mismatch"],
  ];
  for (const [name, chunks, size, code] of cases) {
    await t.step(`refuses ${name}`, async () => {
      const v = new DigestStream({ digest: HELLO, size });
      await assert.rejects(
        drain(ReadableStream.from(chunks.map(enc)).pipeThrough(v)),
        (e: unknown) => e instanceof OciError && e.code === code,
      );
      await assert.rejects(v.result);
    });
  }
  await t.step("the byte past the size is never passed on", async () => {
    const v = new DigestStream({ size: 3 });
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const c of ReadableStream.from([enc("abc"), enc("d")]).pipeThrough(v)) {
        seen.push(c.byteLength);
      }
    });
    assert.deepEqual(seen, [3]);
  });
});

Deno.test("readBounded() refuses a body past its limit", async () => {
  assert.deepEqual(await readBounded(ReadableStream.from([enc("ab"), enc("c")]), 3, "x"), enc("abc"));
  await assert.rejects(
    readBounded(ReadableStream.from([enc("ab"), enc("cd")]), 3, "x"),
    (e: unknown) => e instanceof OciError && e.code === "oci.too-large",
  );
});

Deno.test("DigestStream hashes small blobs inline and large ones natively, with the same result", async (t) => {
  const { createHash } = await import("node:crypto");
  const pipe = async (
    data: Uint8Array,
    opts: ConstructorParameters<typeof DigestStream>[0],
    chunk: number,
  ) => {
    const parts: Uint8Array[] = [];
    for (let off = 0; off < data.byteLength; off += chunk) parts.push(data.subarray(off, off + chunk));
    const s = new DigestStream(opts);
    let passed = 0;
    for await (const c of ReadableStream.from(parts).pipeThrough(s)) passed += c.byteLength;
    return { passed, result: await s.result };
  };
  for (const size of [(1 << 20) - 1, 1 << 20, (1 << 20) + 1, 5 * (1 << 20) + 17]) {
    const data = new Uint8Array(size);
    for (let off = 0; off < size; off += 65536) crypto.getRandomValues(data.subarray(off, off + 65536));
    for (const alg of ["sha256", "sha512"] as const) {
      await t.step(`${size} bytes, ${alg}`, async () => {
        const digest = `${alg}:${createHash(alg).update(data).digest("hex")}` as Digest;
        const { passed, result } = await pipe(data, { digest, size }, 100_000);
        assert.equal(passed, size);
        assert.deepEqual(result, { digest, size });
      });
    }
    await t.step(`${size} bytes with one flipped byte is refused`, async () => {
      const digest = `sha256:${createHash("sha256").update(data).digest("hex")}` as Digest;
      const bad = data.slice();
      bad[size - 1] ^= 1;
      await assert.rejects(pipe(bad, { digest, size }, 65536), /digest is "sha256:[0-9a-f]{64}", expected/);
    });
  }
});
