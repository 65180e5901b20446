import assert from "node:assert/strict";
import { decodeRootlessOwner, encodeRootlessOwner } from "../../lib/layer/rootless_owner.ts";
import { LayerError } from "../../lib/util/errors.ts";

Deno.test("encodeRootlessOwner() writes umoci's protobuf bytes, 0 as NoopID", () => {
  // field 1 (uid) varint, field 2 (gid) varint; NoopID is 0xffffffff
  assert.deepEqual(
    [...encodeRootlessOwner(0, 0)],
    [0x08, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x10, 0xff, 0xff, 0xff, 0xff, 0x0f],
  );
  assert.deepEqual([...encodeRootlessOwner(1000, 33)], [0x08, 0xe8, 0x07, 0x10, 0x21]);
});

Deno.test("decodeRootlessOwner() reads what encode wrote, absence and NoopID as 0, unknown fields skipped", () => {
  for (const [uid, gid] of [[0, 0], [1000, 33], [65534, 0], [0, 4294967294]]) {
    assert.deepEqual(decodeRootlessOwner(encodeRootlessOwner(uid, gid)), { uid, gid });
  }
  assert.deepEqual(decodeRootlessOwner(undefined), { uid: 0, gid: 0 });
  // field 3 (varint 5) before the uid: skipped
  assert.deepEqual(decodeRootlessOwner(new Uint8Array([0x18, 0x05, 0x08, 0x07])), { uid: 7, gid: 0 });
  assert.throws(
    () => decodeRootlessOwner(new Uint8Array([0x08, 0xff])),
    (e: LayerError) => e.code === "layer.bad-xattr",
  );
});
