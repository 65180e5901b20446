/**
 * Encoding changes as tar bytes: headers in entry order, small file bodies read ahead in a bounded
 * window, large ones streamed; whole-second mtimes clamped to SOURCE_DATE_EPOCH; whiteouts as
 * empty files owned by 0:0 with mtime 0. The bytes depend only on the changes, never on timing.
 */
import { LayerError } from "../util/errors.ts";
import { openFileChunks } from "../util/file_stream.ts";
import { bodyPadding, encodeEntryHeader, endOfArchive } from "./_tar_writer.ts";
import { typeOf } from "./tree_compare.ts";
import { type Change, quiet } from "./tree_walker.ts";

function major(rdev: number): number {
  return Number(((BigInt(rdev) >> 8n) & 0xfffn) | ((BigInt(rdev) >> 32n) & ~0xfffn));
}
function minor(rdev: number): number {
  return Number((BigInt(rdev) & 0xffn) | ((BigInt(rdev) >> 12n) & ~0xffn));
}

const FLUSH = 256 << 10;
const SMALL = 64 << 10;

const READ_AHEAD = 32;

/** Pairs each change with its body read in advance when it is a small file (bounded window). */
async function* withBodies(
  changes: AsyncIterable<Change>,
): AsyncGenerator<[Change, Promise<Uint8Array> | undefined]> {
  const q: [Change, Promise<Uint8Array> | undefined][] = [];
  const it = changes[Symbol.asyncIterator]();
  let done = false;
  for (;;) {
    while (!done && q.length < READ_AHEAD) {
      const r = await it.next();
      if (r.done) {
        done = true;
        break;
      }
      const c = r.value;
      const small = c.st?.isFile && c.hardlinkTo === undefined && c.st.size > 0 && c.st.size <= SMALL;
      q.push([c, small ? quiet(Deno.readFile(c.host!)) : undefined]);
    }
    const next = q.shift();
    if (next === undefined) return;
    yield next;
  }
}

/** The tar stream of `changes` in chunks of about 256 KiB. */
export async function* tarChunks(
  changes: AsyncIterable<Change>,
  epoch: number | undefined,
): AsyncGenerator<Uint8Array> {
  let buf: Uint8Array[] = [];
  let buffered = 0;
  const flush = () => {
    const out = new Uint8Array(buffered);
    let o = 0;
    for (const b of buf) out.set(b, o), o += b.length;
    buf = [], buffered = 0;
    return out;
  };
  const push = (b: Uint8Array) => {
    buf.push(b);
    buffered += b.length;
  };
  const clamp = (t: number) => (epoch !== undefined && t > epoch ? epoch : t);
  for await (const [c, early] of withBodies(changes)) {
    if (c.st === undefined) {
      push(encodeEntryHeader({
        name: c.name,
        type: "file",
        mode: 0,
        uid: 0,
        gid: 0,
        size: 0,
        mtime: 0,
        linkname: "",
        devmajor: 0,
        devminor: 0,
        xattrs: new Map(),
      }));
    } else {
      const st = c.st;
      const type = c.hardlinkTo !== undefined ? "hardlink" : typeOf(st)!;
      const size = type === "file" ? st.size : 0;
      const linkname = type === "symlink" ? await Deno.readLink(c.host!) : c.hardlinkTo ?? "";
      push(encodeEntryHeader({
        name: c.name,
        type,
        mode: st.mode! & 0o7777,
        uid: c.uid ?? st.uid!,
        gid: c.gid ?? st.gid!,
        size,
        mtime: clamp(Math.floor((st.mtime?.getTime() ?? 0) / 1000)),
        linkname,
        devmajor: type === "char" || type === "block" ? major(st.rdev!) : 0,
        devminor: type === "char" || type === "block" ? minor(st.rdev!) : 0,
        xattrs: c.xattrs ?? new Map(),
      }));
      if (type === "file" && size > 0) {
        let n = 0;
        if (early !== undefined) {
          const body = await early;
          n = body.length;
          if (n === size) push(body);
        } else {
          if (buffered > 0) yield flush();
          for await (const chunk of await openFileChunks(c.host!, size)) {
            n += chunk.length;
            if (n > size) break;
            yield chunk;
          }
        }
        if (n !== size) {
          throw new LayerError(`Cannot generate layer: "${c.name}" changed size while it was read`, {
            code: "layer.changed-while-reading",
            context: { entry: c.name, expected: size, actual: n },
          });
        }
        push(bodyPadding(size));
      }
    }
    if (buffered >= FLUSH) yield flush();
  }
  push(endOfArchive());
  yield flush();
}
