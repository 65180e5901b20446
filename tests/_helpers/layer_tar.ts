/**
 * Test helper: builds tar archives from a list of entries in code, byte by byte, sharing no code
 * with lib/layer (so hostile archives can be malformed on purpose: bad checksums, unknown typeflags,
 * raw non-UTF-8 names, sparse markers, PAX and GNU long-name records).
 */
import { gzipSync } from "node:zlib";

const enc = new TextEncoder();

export interface RawEntry {
  /** Entry name (string or raw bytes). */
  path: string | Uint8Array;
  type?: "file" | "dir" | "symlink" | "hardlink" | "char" | "block" | "fifo" | string;
  body?: string | Uint8Array;
  target?: string;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  major?: number;
  minor?: number;
  /** PAX records written in an `x` header before this entry. */
  pax?: Record<string, string | Uint8Array>;
  /** GNU long name written as an `L` record before this entry. */
  gnuLongName?: string;
  /** Corrupt the header checksum. */
  badChecksum?: boolean;
  /** Declared size, when it must differ from the body length. */
  size?: number;
}

const FLAGS: Record<string, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  dir: "5",
  fifo: "6",
};

function octal(b: Uint8Array, off: number, width: number, v: number) {
  const s = v.toString(8).padStart(width - 1, "0");
  b.set(enc.encode(s), off);
}

function header(name: Uint8Array, flag: string, e: Partial<RawEntry>, size: number): Uint8Array {
  const b = new Uint8Array(512);
  b.set(name.subarray(0, 100), 0);
  octal(b, 100, 8, e.mode ?? (flag === "5" ? 0o755 : 0o644));
  octal(b, 108, 8, e.uid ?? 0);
  octal(b, 116, 8, e.gid ?? 0);
  octal(b, 124, 12, size);
  octal(b, 136, 12, e.mtime ?? 1700000000);
  b[156] = flag.charCodeAt(0);
  if (e.target) b.set(enc.encode(e.target).subarray(0, 100), 157);
  b.set(enc.encode("ustar\x0000"), 257);
  octal(b, 329, 8, e.major ?? 0);
  octal(b, 337, 8, e.minor ?? 0);
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const c of b) sum += c;
  if (e.badChecksum) sum += 1;
  octal(b, 148, 7, sum);
  return b;
}

function pad(n: number): Uint8Array {
  return new Uint8Array((512 - (n % 512)) % 512);
}

function paxBody(rec: Record<string, string | Uint8Array>): Uint8Array {
  const parts: number[] = [];
  for (const [k, v] of Object.entries(rec)) {
    const vb = typeof v === "string" ? enc.encode(v) : v;
    const kb = enc.encode(k);
    const n = kb.length + vb.length + 3;
    let len = n + String(n).length;
    if (String(len).length !== String(n).length) len = n + String(len).length;
    parts.push(...enc.encode(`${len} `), ...kb, 0x3d, ...vb, 0x0a);
  }
  return new Uint8Array(parts);
}

/** The tar bytes of `entries`, ended by two zero blocks (unless `end` is false). */
export function tarOf(entries: RawEntry[], end = true): Uint8Array {
  const out: Uint8Array[] = [];
  for (const e of entries) {
    const name = typeof e.path === "string" ? enc.encode(e.path) : e.path;
    if (e.pax) {
      const p = paxBody(e.pax);
      out.push(header(enc.encode("PaxHeaders/x"), "x", {}, p.length), p, pad(p.length));
    }
    if (e.gnuLongName) {
      const n = enc.encode(e.gnuLongName + "\0");
      out.push(header(enc.encode("././@LongLink"), "L", {}, n.length), n, pad(n.length));
    }
    const body = typeof e.body === "string" ? enc.encode(e.body) : e.body ?? new Uint8Array(0);
    const flag = FLAGS[e.type ?? "file"] ?? e.type!;
    out.push(header(name, flag, e, e.size ?? body.length), body, pad(body.length));
  }
  if (end) out.push(new Uint8Array(1024));
  const total = out.reduce((n, b) => n + b.length, 0);
  const all = new Uint8Array(total);
  let o = 0;
  for (const b of out) all.set(b, o), o += b.length;
  return all;
}

/** gzip of `tarOf(entries)`. */
export function tgzOf(entries: RawEntry[]): Uint8Array {
  return new Uint8Array(gzipSync(tarOf(entries)));
}

/** An opener for `unpackLayer` over in-memory bytes. */
export function opener(bytes: Uint8Array): () => ReadableStream<Uint8Array> {
  return () => ReadableStream.from([bytes]);
}
