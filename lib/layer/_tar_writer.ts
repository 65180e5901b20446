/**
 * Encodes tar headers deterministically: ustar when every field fits, a PAX `x` record otherwise
 * (long or non-ASCII names and link targets, large sizes/ids, xattrs). uname/gname are left empty
 * and mtimes are whole seconds, so the bytes depend only on the entry.
 */
import {
  BLOCK,
  encodeHeader,
  encodePax,
  fitsOctal,
  padding,
  type TarEntry,
  typeflagOf,
} from "./_tar_header.ts";

const enc = new TextEncoder();

/** What the writer needs of an entry; the body (for files) is written by the caller. */
export type WriteEntry = Omit<TarEntry, "uname" | "gname">;

function isAscii(b: Uint8Array): boolean {
  for (const c of b) if (c >= 0x80) return false;
  return true;
}

/** The header block(s) for `e`: an optional PAX record then the ustar header. */
export function encodeEntryHeader(e: WriteEntry): Uint8Array {
  const pax: [string, Uint8Array][] = [];
  const name = enc.encode(e.name);
  const link = enc.encode(e.linkname);
  const mtime = Math.floor(e.mtime);
  if (name.length > 100 || !isAscii(name)) pax.push(["path", name]);
  if (link.length > 100 || !isAscii(link)) pax.push(["linkpath", link]);
  if (!fitsOctal(e.size, 12)) pax.push(["size", enc.encode(String(e.size))]);
  if (!fitsOctal(e.uid, 8)) pax.push(["uid", enc.encode(String(e.uid))]);
  if (!fitsOctal(e.gid, 8)) pax.push(["gid", enc.encode(String(e.gid))]);
  if (!fitsOctal(mtime, 12)) pax.push(["mtime", enc.encode(String(mtime))]);
  for (const [k, v] of e.xattrs) pax.push([`SCHILY.xattr.${k}`, v]);
  const header = encodeHeader({
    typeflag: typeflagOf(e.type),
    name: name.length > 100 ? name.subarray(0, 100) : name,
    linkname: link.length > 100 ? link.subarray(0, 100) : link,
    mode: e.mode,
    uid: fitsOctal(e.uid, 8) ? e.uid : 0,
    gid: fitsOctal(e.gid, 8) ? e.gid : 0,
    size: fitsOctal(e.size, 12) ? e.size : 0,
    mtime: fitsOctal(mtime, 12) ? mtime : 0,
    devmajor: e.devmajor,
    devminor: e.devminor,
  });
  if (pax.length === 0) return header;
  const body = encodePax(pax);
  // The PAX header's own name is fixed so the output does not depend on anything but the entry.
  const xh = encodeHeader({
    typeflag: "x",
    name: enc.encode("PaxHeader"),
    linkname: new Uint8Array(0),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: 0,
    devmajor: 0,
    devminor: 0,
  });
  const out = new Uint8Array(BLOCK + body.length + padding(body.length) + BLOCK);
  out.set(xh, 0);
  out.set(body, BLOCK);
  out.set(header, BLOCK + body.length + padding(body.length));
  return out;
}

/** Zero padding for a body of `size` bytes (may be empty). */
export function bodyPadding(size: number): Uint8Array {
  return new Uint8Array(padding(size));
}

/** The end-of-archive marker: two zero blocks. */
export function endOfArchive(): Uint8Array {
  return new Uint8Array(2 * BLOCK);
}
