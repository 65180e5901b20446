/**
 * The owner an unprivileged unpack could not apply, kept where an unprivileged repack finds it:
 * the `user.rootlesscontainers` xattr umoci --rootless uses, holding a protobuf
 * `rootlesscontainers.Resource{uid = 1, gid = 2}`. The id 0 is written as NoopID ("the owner of
 * the file"), as umoci does, and NoopID and absence both read back as 0.
 */
import { LayerError } from "../util/errors.ts";

/** The xattr name. */
export const ROOTLESS_XATTR = "user.rootlesscontainers";
const NOOP_ID = 0xffffffff;

function varint(v: number, out: number[]): void {
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
}

/** The xattr value recording `uid`:`gid`. */
export function encodeRootlessOwner(uid: number, gid: number): Uint8Array {
  const out: number[] = [0x08];
  varint(uid === 0 ? NOOP_ID : uid, out);
  out.push(0x10);
  varint(gid === 0 ? NOOP_ID : gid, out);
  return new Uint8Array(out);
}

/** The owner recorded in `v` (0:0 when absent); unknown fields are skipped. */
export function decodeRootlessOwner(v: Uint8Array | undefined): { uid: number; gid: number } {
  const ids = { uid: 0, gid: 0 };
  if (v === undefined) return ids;
  let i = 0;
  const read = () => {
    let x = 0, mul = 1;
    for (; i < v.length; i++) {
      x += (v[i] & 0x7f) * mul;
      mul *= 0x80;
      if ((v[i] & 0x80) === 0) return i++, x;
    }
    throw new LayerError(`Cannot read xattr "${ROOTLESS_XATTR}": truncated varint`, {
      code: "layer.bad-xattr",
    });
  };
  while (i < v.length) {
    const key = read();
    const val = key & 7 ? NaN : read();
    if (key >> 3 === 1) ids.uid = val === NOOP_ID ? 0 : val;
    else if (key >> 3 === 2) ids.gid = val === NOOP_ID ? 0 : val;
    else if (Number.isNaN(val)) break;
  }
  return ids;
}
