import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { sha256Hex } from "../../lib/oci/sha256.ts";

const native = (b: Uint8Array | string) => createHash("sha256").update(b).digest("hex");

Deno.test("sha256Hex() matches the standard test vectors", () => {
  assert.equal(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  assert.equal(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  assert.equal(
    sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  );
});

Deno.test("sha256Hex() agrees with node:crypto at every padding boundary and on large input", () => {
  const data = crypto.getRandomValues(new Uint8Array(65536));
  // 0..200 covers the one- and two-block tails (55, 56, 63, 64, 119, 120 bytes)
  for (let n = 0; n <= 200; n++) {
    assert.equal(sha256Hex(data.subarray(0, n)), native(data.subarray(0, n)), `n=${n}`);
  }
  assert.equal(sha256Hex(data), native(data));
  // a view into a larger buffer hashes only its own bytes
  assert.equal(sha256Hex(data.subarray(7, 1031)), native(data.subarray(7, 1031)));
  assert.equal(sha256Hex("héllo ✓"), native("héllo ✓"));
});
