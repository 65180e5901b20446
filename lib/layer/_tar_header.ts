/**
 * The tar on-disk format: 512-byte ustar headers, PAX extended records and GNU long-name records.
 * Pure functions over bytes; the streaming reader and writer sit on top of these.
 */
import { LayerError } from "../util/errors.ts";

export const BLOCK = 512;

/** The kinds of entry a layer can hold once PAX/GNU meta-entries are folded in. */
export type EntryType = "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo";

/** A tar entry with every PAX/GNU override applied. `name` and `linkname` are untrusted. */
export interface TarEntry {
  name: string;
  type: EntryType;
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  size: number;
  /** Seconds since the epoch, possibly fractional (PAX). */
  mtime: number;
  linkname: string;
  devmajor: number;
  devminor: number;
  /** SCHILY.xattr.* values, byte-exact. */
  xattrs: Map<string, Uint8Array>;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });
const enc = new TextEncoder();

/** Hex-escapes bytes that are not printable ASCII, for messages about non-UTF-8 names. */
export function escapeBytes(b: Uint8Array): string {
  let s = "";
  for (const c of b) {
    s += c >= 0x20 && c < 0x7f && c !== 0x5c
      ? String.fromCharCode(c)
      : `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return s;
}

/** Decodes a name as strict UTF-8; a name that is not UTF-8 is refused, never rewritten. */
export function decodeName(b: Uint8Array, what: string): string {
  try {
    return utf8.decode(b);
  } catch {
    throw new LayerError(`Cannot read ${what} "${escapeBytes(b)}": not valid UTF-8`, {
      code: "layer.non-utf8-name",
      context: { entry: escapeBytes(b) },
    });
  }
}

function cstring(b: Uint8Array): Uint8Array {
  const z = b.indexOf(0);
  return z < 0 ? b : b.subarray(0, z);
}

/** Octal (NUL/space padded) or GNU base-256 number field. */
function parseNumber(b: Uint8Array, field: string): number {
  if (b[0] & 0x80) {
    // base-256: big-endian two's complement; negative values are refused
    if (b[0] & 0x40) throw malformed(`negative ${field}`);
    let v = b[0] & 0x3f;
    for (let i = 1; i < b.length; i++) v = v * 256 + b[i];
    if (!Number.isSafeInteger(v)) throw malformed(`${field} too large`);
    return v;
  }
  let v = 0;
  let i = 0;
  while (i < b.length && (b[i] === 0x20 || b[i] === 0)) i++;
  for (; i < b.length; i++) {
    const c = b[i];
    if (c === 0 || c === 0x20) break;
    if (c < 0x30 || c > 0x37) throw malformed(`${field} is not octal`);
    v = v * 8 + (c - 0x30);
  }
  return v;
}

function malformed(state: string): LayerError {
  return new LayerError(`Cannot read tar header: ${state}`, { code: "layer.bad-header" });
}

/** True when the 512-byte block is all zeros (end-of-archive marker). */
export function isZeroBlock(b: Uint8Array): boolean {
  for (let i = 0; i < BLOCK; i++) if (b[i] !== 0) return false;
  return true;
}

function verifyChecksum(b: Uint8Array): void {
  const want = parseNumber(b.subarray(148, 156), "checksum");
  let unsigned = 0, signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i];
    unsigned += c;
    signed += c > 127 ? c - 256 : c;
  }
  if (want !== unsigned && want !== signed) throw malformed(`bad checksum ${want}, computed ${unsigned}`);
}

/** A raw header: typeflag plus fields, before PAX/GNU overrides. */
export interface RawHeader {
  typeflag: string;
  nameBytes: Uint8Array;
  linkBytes: Uint8Array;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
}

/** Parses and checksum-verifies one 512-byte header block. */
export function parseHeader(b: Uint8Array): RawHeader {
  verifyChecksum(b);
  const magic = String.fromCharCode(...b.subarray(257, 263));
  const ustar = magic === "ustar\0";
  const gnu = magic === "ustar " && b[263] === 0x20;
  let nameBytes = cstring(b.subarray(0, 100));
  if (ustar) {
    const prefix = cstring(b.subarray(345, 500));
    if (prefix.length > 0) {
      const joined = new Uint8Array(prefix.length + 1 + nameBytes.length);
      joined.set(prefix);
      joined[prefix.length] = 0x2f;
      joined.set(nameBytes, prefix.length + 1);
      nameBytes = joined;
    }
  }
  const hasExt = ustar || gnu;
  return {
    typeflag: String.fromCharCode(b[156]),
    nameBytes,
    linkBytes: cstring(b.subarray(157, 257)),
    mode: parseNumber(b.subarray(100, 108), "mode"),
    uid: parseNumber(b.subarray(108, 116), "uid"),
    gid: parseNumber(b.subarray(116, 124), "gid"),
    size: parseNumber(b.subarray(124, 136), "size"),
    mtime: parseNumber(b.subarray(136, 148), "mtime"),
    uname: hasExt ? new TextDecoder().decode(cstring(b.subarray(265, 297))) : "",
    gname: hasExt ? new TextDecoder().decode(cstring(b.subarray(297, 329))) : "",
    devmajor: hasExt ? parseNumber(b.subarray(329, 337), "devmajor") : 0,
    devminor: hasExt ? parseNumber(b.subarray(337, 345), "devminor") : 0,
  };
}

/** PAX records: key → raw value bytes. Throws on malformed records. */
export function parsePax(b: Uint8Array): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  let i = 0;
  while (i < b.length) {
    if (b[i] === 0) break; // NUL padding after the last record
    const sp = b.indexOf(0x20, i);
    if (sp < 0) throw malformed("PAX record without length");
    const len = Number(new TextDecoder().decode(b.subarray(i, sp)));
    if (!Number.isSafeInteger(len) || len <= sp - i + 1 || i + len > b.length || b[i + len - 1] !== 0x0a) {
      throw malformed("bad PAX record length");
    }
    const rec = b.subarray(sp + 1, i + len - 1);
    const eq = rec.indexOf(0x3d);
    if (eq <= 0) throw malformed("PAX record without key");
    out.set(decodeName(rec.subarray(0, eq), "PAX key"), rec.subarray(eq + 1));
    i += len;
  }
  return out;
}

/** Encodes PAX records, sorted by key for determinism. */
export function encodePax(records: [string, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [k, v] of [...records].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
    const kb = enc.encode(k);
    const body = kb.length + v.length + 3; // space, '=', '\n'
    let len = body + String(body).length;
    if (String(len).length !== String(body).length) len = body + String(len).length;
    const rec = new Uint8Array(len);
    let o = 0;
    const lb = enc.encode(`${len} `);
    rec.set(lb, o), o += lb.length;
    rec.set(kb, o), o += kb.length;
    rec[o++] = 0x3d;
    rec.set(v, o), o += v.length;
    rec[o] = 0x0a;
    parts.push(rec);
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) out.set(p, o), o += p.length;
  return out;
}

const TYPEFLAG: Record<EntryType, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
};

/** Header fields to encode; values that do not fit must already be moved to PAX by the caller. */
export interface HeaderFields {
  typeflag: string;
  name: Uint8Array;
  linkname: Uint8Array;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  devmajor: number;
  devminor: number;
}

export function typeflagOf(t: EntryType): string {
  return TYPEFLAG[t];
}

function putOctal(b: Uint8Array, off: number, width: number, v: number): void {
  const s = Math.max(0, Math.floor(v)).toString(8).padStart(width - 1, "0");
  for (let i = 0; i < width - 1; i++) b[off + i] = s.charCodeAt(i);
  b[off + width - 1] = 0;
}

/** True when `v` fits an octal field of `width` bytes (width-1 digits). */
export function fitsOctal(v: number, width: number): boolean {
  return Number.isInteger(v) && v >= 0 && v < 8 ** (width - 1);
}

/** One ustar header block (POSIX magic, empty uname/gname for determinism). */
export function encodeHeader(f: HeaderFields): Uint8Array {
  const b = new Uint8Array(BLOCK);
  b.set(f.name.subarray(0, 100), 0);
  putOctal(b, 100, 8, f.mode & 0o7777);
  putOctal(b, 108, 8, f.uid);
  putOctal(b, 116, 8, f.gid);
  putOctal(b, 124, 12, f.size);
  putOctal(b, 136, 12, f.mtime);
  b[156] = f.typeflag.charCodeAt(0);
  b.set(f.linkname.subarray(0, 100), 157);
  b.set(enc.encode("ustar\x0000"), 257);
  putOctal(b, 329, 8, f.devmajor);
  putOctal(b, 337, 8, f.devminor);
  for (let i = 148; i < 156; i++) b[i] = 0x20;
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += b[i];
  putOctal(b, 148, 7, sum);
  b[155] = 0x20;
  return b;
}

/** Bytes of zero padding after a body of `size` bytes. */
export function padding(size: number): number {
  const r = size % BLOCK;
  return r === 0 ? 0 : BLOCK - r;
}
