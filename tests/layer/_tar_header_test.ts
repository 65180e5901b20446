import assert from "node:assert/strict";
import {
  decodeName,
  encodeHeader,
  encodePax,
  escapeBytes,
  parseHeader,
  parsePax,
} from "../../lib/layer/_tar_header.ts";
import { LayerError } from "../../lib/util/errors.ts";
import { tarOf } from "../_helpers/layer_tar.ts";

const enc = new TextEncoder();

Deno.test("parseHeader() reads fields of a ustar header written by the test helper", () => {
  const b = tarOf(
    [{ path: "dir/file", body: "abc", mode: 0o4755, uid: 1000, gid: 42, mtime: 1234567890 }],
    false,
  );
  const h = parseHeader(b.subarray(0, 512));
  assert.equal(new TextDecoder().decode(h.nameBytes), "dir/file");
  assert.deepEqual([h.typeflag, h.mode, h.uid, h.gid, h.size, h.mtime], [
    "0",
    0o4755,
    1000,
    42,
    3,
    1234567890,
  ]);
});

Deno.test("parseHeader() refuses a bad checksum and reads base-256 numbers", () => {
  const bad = tarOf([{ path: "x", badChecksum: true }], false).subarray(0, 512);
  assert.throws(() => parseHeader(bad), (e: LayerError) => e.code === "layer.bad-header");
  const h = encodeHeader({
    typeflag: "0",
    name: enc.encode("x"),
    linkname: new Uint8Array(0),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 0,
    devmajor: 0,
    devminor: 0,
  });
  // GNU base-256 uid 2^32: 0x80 marker then big-endian bytes
  h.fill(0, 108, 116);
  h[108] = 0x80;
  h[111] = 1;
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of h) sum += c;
  h.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  assert.equal(parseHeader(h).uid, 2 ** 32);
});

Deno.test("encodePax() and parsePax() round-trip binary values, with lengths that cross a digit boundary", () => {
  const recs: [string, Uint8Array][] = [
    ["SCHILY.xattr.user.bin", new Uint8Array([0, 0xff, 0x0a, 0x3d])],
    ["path", enc.encode("p".repeat(93))], // 93 + 4 + 3 = 100: the length itself grows to 3 digits
  ];
  const m = parsePax(encodePax(recs));
  assert.deepEqual(m.get("SCHILY.xattr.user.bin"), recs[0][1]);
  assert.equal(new TextDecoder().decode(m.get("path")), "p".repeat(93));
  assert.throws(() => parsePax(enc.encode("99 path=x\n")), (e: LayerError) => e.code === "layer.bad-header");
});

Deno.test("decodeName() refuses non-UTF-8 names with a hex-escaped message", () => {
  assert.equal(decodeName(enc.encode("ünïcode"), "name"), "ünïcode");
  assert.throws(
    () => decodeName(new Uint8Array([0x61, 0xff]), "entry name"),
    (e: LayerError) => e.code === "layer.non-utf8-name" && e.message.includes("a\\xff"),
  );
  assert.equal(escapeBytes(new Uint8Array([0x41, 0x0a, 0x5c])), "A\\x0a\\x5c");
});
