import assert from "node:assert/strict";
import {
  bodyPadding,
  encodeEntryHeader,
  endOfArchive,
  type WriteEntry,
} from "../../lib/layer/_tar_writer.ts";
import { TarReader } from "../../lib/layer/_tar_reader.ts";
import { tempRoot } from "../_helpers/layer_root.ts";

const enc = new TextEncoder();

function entry(p: Partial<WriteEntry>): WriteEntry {
  return {
    name: "f",
    type: "file",
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: 0,
    mtime: 1700000000,
    linkname: "",
    devmajor: 0,
    devminor: 0,
    xattrs: new Map(),
    ...p,
  };
}

function archive(entries: [WriteEntry, Uint8Array?][]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [e, body] of entries) {
    parts.push(encodeEntryHeader(e));
    if (body) parts.push(body, bodyPadding(body.length));
  }
  parts.push(endOfArchive());
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), o += p.length;
  return out;
}

const long = `${"d".repeat(150)}/${"ü".repeat(60)}`;
const cases: [WriteEntry, Uint8Array?][] = [
  [entry({ name: "dir/", type: "dir", mode: 0o1777 }), undefined],
  [entry({ name: "dir/file", size: 5, mode: 0o4755, uid: 1000, gid: 1000 }), enc.encode("hello")],
  [entry({ name: long, size: 1 }), enc.encode("x")],
  [entry({ name: "big-ids", uid: 3_000_000, gid: 2 ** 31 }), undefined],
  [entry({ name: "link", type: "symlink", linkname: "/" + "t".repeat(200) }), undefined],
  [entry({ name: "hard", type: "hardlink", linkname: "dir/file" }), undefined],
  [entry({ name: "null", type: "char", devmajor: 1, devminor: 3 }), undefined],
  [entry({ name: "x", xattrs: new Map([["user.bin", new Uint8Array([0, 255, 10])]]) }), undefined],
];

Deno.test("encodeEntryHeader() output reads back through TarReader unchanged", async () => {
  const r = new TarReader(ReadableStream.from([archive(cases)]));
  for (const [want, body] of cases) {
    const got = (await r.next())!;
    assert.ok(got);
    for (
      const k of [
        "name",
        "type",
        "mode",
        "uid",
        "gid",
        "size",
        "mtime",
        "linkname",
        "devmajor",
        "devminor",
      ] as const
    ) {
      assert.equal(got[k], want[k], `${want.name}: ${k}`);
    }
    assert.deepEqual(got.xattrs, want.xattrs);
    assert.deepEqual(await r.readBody(), body ?? new Uint8Array(0));
  }
  assert.equal(await r.next(), null);
});

Deno.test("encodeEntryHeader() output is read by GNU tar", async () => {
  await using t = await tempRoot();
  await Deno.writeFile(`${t.dir}/a.tar`, archive(cases));
  const o = await new Deno.Command("tar", {
    args: ["--numeric-owner", "-tvf", `${t.dir}/a.tar`],
    stdout: "piped",
  })
    .output();
  assert.equal(o.code, 0);
  const out = new TextDecoder().decode(o.stdout);
  assert.ok(out.includes(long), out);
  assert.match(out, /-rwsr-xr-x 1000\/1000\s+5 .* dir\/file/);
  assert.match(out, /3000000\/2147483648/);
});
