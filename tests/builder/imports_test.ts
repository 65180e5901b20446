import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { BuildError } from "../../lib/util/errors.ts";
import { memoryLogger } from "../../lib/util/log.ts";
import { acquireImports, importBasename, normalizeHash, placeImport } from "../../lib/builder/imports.ts";
import type { ImportSpec } from "../../lib/builder/types.ts";

const sha = (s: string) => createHash("sha256").update(s).digest("hex");

async function tempTree(): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "imports-" });
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("placeImport() follows the dest table of spec §1.4", async (t) => {
  const cases: [string, string, string][] = [
    ["/s/f", "/a/b", "/a/b"],
    ["/s/f", "/a/", "/a/f"],
    ["/s/d", "/x", "/x"],
    ["/s/d/", "/x", "/x"],
    ["/s/d", "/x/", "/x/d"],
    ["/s/d/", "/x/", "/x"],
    ["stacker://L/dir/", "/x/", "/x"],
    ["stacker://L/dir", "/x/", "/x/dir"],
    ["https://h/p/file.tgz?x=1", "/opt/", "/opt/file.tgz"],
    ["/s/f", "/", "/f"],
  ];
  for (const [path, dest, want] of cases) {
    await t.step(`${path} + ${dest}`, () => assert.equal(placeImport(path, dest), want));
  }
  assert.equal(importBasename("http://h/a/b.txt?q=/z"), "b.txt");
  assert.equal(normalizeHash("SHA256:" + "AB".repeat(32), "p"), "sha256:" + "ab".repeat(32));
  assert.throws(() => normalizeHash("abc", "p"), /Given hash "abc" is not valid/);
});

Deno.test("acquireImports() copies local files and dirs, stages dest imports and prunes stale entries", async () => {
  await using t = await tempTree();
  const src = `${t.dir}/src`;
  await Deno.mkdir(`${src}/d/sub`, { recursive: true });
  await Deno.writeTextFile(`${src}/f.txt`, "file");
  await Deno.writeTextFile(`${src}/d/sub/x`, "x");
  await Deno.symlink("nowhere", `${src}/d/dangling`);
  const importDir = `${t.dir}/stacker/imports/L`;
  const stagingDir = `${t.dir}/stacker/imports-copy/L`;
  const imports: ImportSpec[] = [
    { path: `${src}/f.txt`, hash: sha("file"), mode: 0o600 },
    { path: `${src}/d` },
    { path: `${src}/f.txt`, dest: "/etc/app/", mode: 0o640 },
    { path: `${src}/d/`, dest: "/opt/d" },
  ];
  await Deno.writeTextFile(`${t.dir}/placeholder`, "");
  await Deno.mkdir(importDir, { recursive: true });
  await Deno.writeTextFile(`${importDir}/stale`, "old");
  const got = await acquireImports({ layer: "L", imports, importDir, stagingDir });

  assert.equal(await Deno.readTextFile(`${importDir}/f.txt`), "file");
  assert.equal((await Deno.stat(`${importDir}/f.txt`)).mode! & 0o777, 0o600);
  assert.equal(await Deno.readTextFile(`${importDir}/d/sub/x`), "x");
  assert.equal(await Deno.readLink(`${importDir}/d/dangling`), "nowhere");
  await assert.rejects(() => Deno.lstat(`${importDir}/stale`), Deno.errors.NotFound);
  assert.equal(got.overlayDirs.length, 2);
  const [o1, o2] = got.overlayDirs;
  assert.equal(o1.dest, "/");
  assert.equal(await Deno.readTextFile(`${o1.source}/etc/app/f.txt`), "file");
  assert.equal((await Deno.stat(`${o1.source}/etc/app/f.txt`)).mode! & 0o777, 0o640);
  assert.equal(await Deno.readTextFile(`${o2.source}/opt/d/sub/x`), "x");
  assert.deepEqual(Object.keys(got.keys), [
    `${src}/f.txt`,
    `${src}/d`,
    `${src}/f.txt -> /etc/app/`,
    `${src}/d/ -> /opt/d`,
  ]);
  assert.equal(got.keys[`${src}/d`].kind, "dir");

  // The same inputs give the same keys; a changed byte in the dir changes only that key.
  const again = await acquireImports({ layer: "L", imports, importDir, stagingDir });
  assert.deepEqual(again.keys, got.keys);
  await Deno.writeTextFile(`${src}/d/sub/x`, "y");
  const changed = await acquireImports({ layer: "L", imports, importDir, stagingDir });
  assert.equal(changed.keys[`${src}/f.txt`].hash, got.keys[`${src}/f.txt`].hash);
  assert.notEqual(changed.keys[`${src}/d`].hash, got.keys[`${src}/d`].hash);
  assert.equal(await Deno.readTextFile(`${importDir}/d/sub/x`), "y");

  // Dropping an import prunes it from the import dir.
  await acquireImports({ layer: "L", imports: [imports[0]], importDir, stagingDir });
  await assert.rejects(() => Deno.lstat(`${importDir}/d`), Deno.errors.NotFound);
});

Deno.test("acquireImports() refuses bad hashes, missing paths and duplicate names", async (t) => {
  await using tt = await tempTree();
  await Deno.writeTextFile(`${tt.dir}/f`, "file");
  await Deno.mkdir(`${tt.dir}/other`);
  await Deno.writeTextFile(`${tt.dir}/other/f`, "file2");
  const base = { layer: "L", importDir: `${tt.dir}/i`, stagingDir: `${tt.dir}/s` };
  const cases: [string, ImportSpec[], RegExp][] = [
    [
      "wrong hash",
      [{ path: `${tt.dir}/f`, hash: sha("nope") }],
      /requested hash of .* is different than the actual hash/,
    ],
    ["malformed hash", [{ path: `${tt.dir}/f`, hash: "xyz" }], /Given hash "xyz" is not valid/],
    ["missing", [{ path: `${tt.dir}/absent` }], /does not exist/],
    [
      "duplicate",
      [{ path: `${tt.dir}/f` }, { path: `${tt.dir}/other/f` }],
      /another import is also named "f"/,
    ],
    ["require-hash", [{ path: "http://127.0.0.1:1/x" }], /Remote import needs a hash in yaml for path/],
    ["stacker:// without reader", [{ path: "stacker://a/b" }], /not a stacker:\/\/<layer>\/<path>/],
  ];
  for (const [name, imports, re] of cases) {
    await t.step(name, async () => {
      const err = await acquireImports({ ...base, imports, requireHash: true }).then(
        () => undefined,
        (e) => e,
      );
      assert.ok(err instanceof BuildError, String(err));
      assert.match(err.message, re);
    });
  }
});

Deno.test("acquireImports() downloads http imports once, checks hashes and revalidates with ETag", async () => {
  await using t = await tempTree();
  let body = "v1";
  const hits: string[] = [];
  await using server = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, (req) => {
    const etag = `"${sha(body).slice(0, 8)}"`;
    hits.push(`${req.method} ${req.headers.get("if-none-match") ?? "-"}`);
    if (req.headers.get("if-none-match") === etag) return new Response(null, { status: 304 });
    return new Response(body, { headers: { etag } });
  });
  const url = `http://127.0.0.1:${server.addr.port}/files/data.txt`;
  const { log, lines } = memoryLogger();
  const opts = { layer: "L", importDir: `${t.dir}/i`, stagingDir: `${t.dir}/s`, log };

  const a = await acquireImports({ ...opts, imports: [{ path: url }] });
  assert.equal(await Deno.readTextFile(`${t.dir}/i/data.txt`), "v1");
  assert.ok(lines.some((l) => l.includes(`sha256:${sha("v1")}`)), "prints the hash for pinning");
  const b = await acquireImports({ ...opts, imports: [{ path: url }] });
  assert.deepEqual(b.keys, a.keys);
  assert.deepEqual(hits, ["GET -", `GET "${sha("v1").slice(0, 8)}"`], "second run revalidated, got 304");

  body = "v2";
  const c = await acquireImports({ ...opts, imports: [{ path: url }] });
  assert.notEqual(c.keys[url].hash, a.keys[url].hash);
  assert.equal(await Deno.readTextFile(`${t.dir}/i/data.txt`), "v2");

  // A pinned hash that matches the cached copy needs no request at all.
  const before = hits.length;
  await acquireImports({ ...opts, imports: [{ path: url, hash: sha("v2") }] });
  assert.equal(hits.length, before);

  // A wrong pinned hash: error, and nothing half-downloaded is left.
  await Deno.remove(`${t.dir}/i`, { recursive: true });
  await assert.rejects(
    () => acquireImports({ ...opts, imports: [{ path: url, hash: sha("v1") }] }),
    /Downloaded file hash does not match/,
  );
  assert.deepEqual((await Array.fromAsync(Deno.readDir(`${t.dir}/i`))).map((e) => e.name), []);

  // dest: staged at its final path.
  const d = await acquireImports({ ...opts, imports: [{ path: url, dest: "/srv/", mode: 0o755 }] });
  assert.equal(await Deno.readTextFile(`${d.overlayDirs[0].source}/srv/data.txt`), "v2");
  assert.equal((await Deno.stat(`${d.overlayDirs[0].source}/srv/data.txt`)).mode! & 0o777, 0o755);
});

Deno.test("acquireImports() reads stacker:// imports through the callback and compares their hash", async () => {
  await using t = await tempTree();
  const calls: string[] = [];
  const readStackerPath = async (layer: string, path: string, dest: string) => {
    calls.push(`${layer}:${path}`);
    await Deno.writeTextFile(dest, "from-layer");
  };
  const opts = { layer: "L", importDir: `${t.dir}/i`, stagingDir: `${t.dir}/s`, readStackerPath };
  const ok = await acquireImports({
    ...opts,
    imports: [{ path: "stacker://builder/out/bin", hash: sha("from-layer"), dest: "/usr/bin/tool" }],
  });
  assert.deepEqual(calls, ["builder:/out/bin"]);
  assert.equal(await Deno.readTextFile(`${ok.overlayDirs[0].source}/usr/bin/tool`), "from-layer");
  await assert.rejects(
    () => acquireImports({ ...opts, imports: [{ path: "stacker://builder/out/bin", hash: sha("x") }] }),
    /different than the actual hash/,
  );
});
