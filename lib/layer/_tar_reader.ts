/**
 * A streaming tar reader: ustar, PAX (path, linkpath, size, mtime, uid/gid, uname/gname,
 * SCHILY.xattr.*), GNU L/K long names; checksums verified; global `g` headers ignored; sparse
 * entries and unknown typeflags refused; stops at the first end-of-archive block. Each entry's
 * body must be consumed (read or skipped) before `next()` is called again.
 */
import { LayerError } from "../util/errors.ts";
import {
  BLOCK,
  decodeName,
  type EntryType,
  isZeroBlock,
  padding,
  parseHeader,
  parsePax,
  type RawHeader,
  type TarEntry,
} from "./_tar_header.ts";

/** Limits on what a single archive may declare. */
export interface TarLimits {
  /** Longest accepted name or link target, in bytes (default 4096). */
  maxPathLength: number;
  /** Largest PAX or GNU long-name record (default 1 MiB). */
  maxMetaSize: number;
}

const DEFAULT_LIMITS: TarLimits = { maxPathLength: 4096, maxMetaSize: 1 << 20 };

/** Pulls exact byte counts out of a chunked stream without copying when a chunk suffices. */
export class ByteSource {
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  #chunk: Uint8Array = new Uint8Array(0);
  #off = 0;
  #eof = false;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.#reader = stream.getReader();
  }

  async #fill(): Promise<boolean> {
    while (this.#off >= this.#chunk.length) {
      if (this.#eof) return false;
      const r = await this.#reader.read();
      if (r.done) {
        this.#eof = true;
        return false;
      }
      this.#chunk = r.value;
      this.#off = 0;
    }
    return true;
  }

  /** Exactly `n` bytes, or null at a clean EOF before the first byte; throws on a short read. */
  async read(n: number): Promise<Uint8Array | null> {
    if (!(await this.#fill())) return null;
    if (this.#chunk.length - this.#off >= n) {
      const out = this.#chunk.subarray(this.#off, this.#off + n);
      this.#off += n;
      return out;
    }
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      if (!(await this.#fill())) throw truncated();
      const take = Math.min(n - got, this.#chunk.length - this.#off);
      out.set(this.#chunk.subarray(this.#off, this.#off + take), got);
      this.#off += take;
      got += take;
    }
    return out;
  }

  /** Yields views totalling exactly `n` bytes (valid until the next call). */
  async *chunks(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (!(await this.#fill())) throw truncated();
      const take = Math.min(left, this.#chunk.length - this.#off);
      yield this.#chunk.subarray(this.#off, this.#off + take);
      this.#off += take;
      left -= take;
    }
  }

  async skip(n: number): Promise<void> {
    for await (const _ of this.chunks(n)) { /* discard */ }
  }

  /** Reads and discards everything left (so a hashing stream upstream sees every byte). */
  async drain(): Promise<void> {
    this.#off = this.#chunk.length;
    while (await this.#fill()) this.#off = this.#chunk.length;
  }

  async cancel(reason?: unknown): Promise<void> {
    await this.#reader.cancel(reason).catch(() => {});
  }
}

function truncated(): LayerError {
  return new LayerError("Cannot read tar stream: truncated", { code: "layer.truncated" });
}

const TYPES: Record<string, EntryType> = {
  "0": "file",
  "\0": "file",
  "7": "file",
  "1": "hardlink",
  "2": "symlink",
  "3": "char",
  "4": "block",
  "5": "dir",
  "6": "fifo",
};

export class TarReader {
  readonly #src: ByteSource;
  readonly #limits: TarLimits;
  #pendingBody = 0;
  #ended = false;

  constructor(stream: ReadableStream<Uint8Array>, limits: Partial<TarLimits> = {}) {
    this.#src = new ByteSource(stream);
    this.#limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /**
   * The next entry, or null after the end-of-archive marker (or a clean EOF at a block boundary).
   * After null, the rest of the stream has been drained.
   */
  async next(): Promise<TarEntry | null> {
    if (this.#pendingBody > 0) await this.skipBody();
    if (this.#ended) return null;
    let pax: Map<string, Uint8Array> | undefined;
    let longName: Uint8Array | undefined;
    let longLink: Uint8Array | undefined;
    for (;;) {
      const block = await this.#src.read(BLOCK);
      if (block === null || isZeroBlock(block)) {
        if (pax || longName || longLink) throw truncated();
        this.#ended = true;
        await this.#src.drain();
        return null;
      }
      const h = parseHeader(block);
      switch (h.typeflag) {
        case "x":
          pax = new Map([...(pax ?? []), ...parsePax(await this.#meta(h))]);
          continue;
        case "g":
          await this.#src.skip(h.size + padding(h.size));
          continue;
        case "L":
          longName = cstr(await this.#meta(h));
          continue;
        case "K":
          longLink = cstr(await this.#meta(h));
          continue;
      }
      return this.#entry(h, pax, longName, longLink);
    }
  }

  /** The current entry's body as views (each valid until the next iteration). */
  async *body(): AsyncGenerator<Uint8Array> {
    const n = this.#pendingBody;
    this.#pendingBody = 0;
    yield* this.#src.chunks(n);
    await this.#src.skip(padding(n));
  }

  /** The current entry's body in one buffer (for small files). */
  async readBody(): Promise<Uint8Array> {
    const n = this.#pendingBody;
    this.#pendingBody = 0;
    const b = n === 0 ? new Uint8Array(0) : (await this.#src.read(n)) ?? (() => {
      throw truncated();
    })();
    await this.#src.skip(padding(n));
    return b;
  }

  async skipBody(): Promise<void> {
    const n = this.#pendingBody;
    this.#pendingBody = 0;
    await this.#src.skip(n + padding(n));
  }

  async cancel(reason?: unknown): Promise<void> {
    await this.#src.cancel(reason);
  }

  async #meta(h: RawHeader): Promise<Uint8Array> {
    if (h.size > this.#limits.maxMetaSize) {
      throw new LayerError(
        `Cannot read tar meta-entry: ${h.size} bytes exceeds ${this.#limits.maxMetaSize}`,
        {
          code: "layer.budget",
        },
      );
    }
    const body = h.size === 0 ? new Uint8Array(0) : (await this.#src.read(h.size)) ?? new Uint8Array(0);
    const copy = body.slice();
    await this.#src.skip(padding(h.size));
    return copy;
  }

  #entry(
    h: RawHeader,
    pax: Map<string, Uint8Array> | undefined,
    longName: Uint8Array | undefined,
    longLink: Uint8Array | undefined,
  ): TarEntry {
    const rawName = pax?.get("path") ?? longName ?? h.nameBytes;
    const name = decodeName(rawName, "entry name");
    const fail = (state: string, code = "layer.bad-entry") =>
      new LayerError(`Cannot read entry "${name}": ${state}`, { code, context: { entry: name } });
    if (h.typeflag === "S") throw fail("sparse entries are not supported", "layer.sparse");
    const type = TYPES[h.typeflag];
    if (type === undefined) {
      throw fail(`unknown typeflag "${escape(h.typeflag)}"`, "layer.bad-typeflag");
    }
    const e: TarEntry = {
      name,
      type,
      mode: h.mode,
      uid: h.uid,
      gid: h.gid,
      uname: h.uname,
      gname: h.gname,
      size: h.size,
      mtime: h.mtime,
      linkname: decodeName(pax?.get("linkpath") ?? longLink ?? h.linkBytes, "link target"),
      devmajor: h.devmajor,
      devminor: h.devminor,
      xattrs: new Map(),
    };
    if (rawName.length > this.#limits.maxPathLength || e.linkname.length > this.#limits.maxPathLength * 4) {
      throw fail(`name longer than ${this.#limits.maxPathLength} bytes`, "layer.budget");
    }
    if (pax) {
      const td = new TextDecoder();
      for (const [k, v] of pax) {
        if (k.startsWith("GNU.sparse.")) throw fail("sparse entries are not supported", "layer.sparse");
        if (k.startsWith("SCHILY.xattr.")) e.xattrs.set(k.slice(13), v);
        else if (k === "size") e.size = decimal(td.decode(v), k, fail);
        else if (k === "uid") e.uid = decimal(td.decode(v), k, fail);
        else if (k === "gid") e.gid = decimal(td.decode(v), k, fail);
        else if (k === "uname") e.uname = td.decode(v);
        else if (k === "gname") e.gname = td.decode(v);
        else if (k === "mtime") {
          const m = Number(td.decode(v));
          if (!Number.isFinite(m)) throw fail(`bad PAX mtime "${td.decode(v)}"`);
          e.mtime = m;
        }
      }
    }
    // Only regular files carry a body; a hardlink/dir/symlink with a size is malformed-but-seen
    // in the wild (old tar writers): its bytes are skipped, never written.
    this.#pendingBody = e.size;
    if (type !== "file") e.size = 0;
    return e;
  }
}

function cstr(b: Uint8Array): Uint8Array {
  const z = b.indexOf(0);
  return z < 0 ? b : b.subarray(0, z);
}

function escape(s: string): string {
  return [...s].map((c) => (c >= " " && c <= "~" ? c : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`))
    .join("");
}

function decimal(s: string, key: string, fail: (s: string) => LayerError): number {
  if (!/^[0-9]{1,16}$/.test(s)) throw fail(`bad PAX ${key} "${s}"`);
  const v = Number(s);
  if (!Number.isSafeInteger(v)) throw fail(`bad PAX ${key} "${s}"`);
  return v;
}
