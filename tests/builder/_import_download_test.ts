/**
 * download(): the reuse rules of an http import without ETag/Last-Modified (a HEAD decides), with a
 * pinned hash (no request at all), offline (the cached copy, with a warning), and a server whose
 * X-Checksum-Sha256 disagrees with the pinned hash (refused, nothing written).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { download, readDownloads } from "../../lib/builder/_import_download.ts";
import { BuildError } from "../../lib/util/errors.ts";
import { memoryLogger } from "../../lib/util/log.ts";

const sha = (s: string) => "sha256:" + createHash("sha256").update(s).digest("hex");

/** A server of one file without validators; counts requests by method. */
function fileServer(body: () => string, extra: () => Record<string, string> = () => ({})) {
  const seen: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    seen.push(req.method);
    const b = body();
    const headers = { "content-length": String(new TextEncoder().encode(b).length), ...extra() };
    return new Response(req.method === "HEAD" ? null : b, { headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/f.txt`,
    seen,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

async function tempDir(): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "import-download-" });
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("download() without validators revalidates with a HEAD; a pinned hash needs no request", async () => {
  await using t = await tempDir();
  let content = "one\n";
  await using srv = fileServer(() => content);
  const { log } = memoryLogger();
  const dest = `${t.dir}/f.txt`;
  const first = await download(srv.url, dest, undefined, undefined, log);
  assert.equal(first.hash, sha("one\n"));
  assert.deepEqual(srv.seen, ["GET"]);

  assert.deepEqual(await download(srv.url, dest, first, undefined, log), first, "same length: kept");
  assert.deepEqual(srv.seen, ["GET", "HEAD"]);

  assert.deepEqual(await download(srv.url, dest, first, first.hash, log), first);
  assert.deepEqual(srv.seen, ["GET", "HEAD"], "pinned and cached: no request");

  content = "changed\n";
  const second = await download(srv.url, dest, first, undefined, log);
  assert.deepEqual(srv.seen, ["GET", "HEAD", "HEAD", "GET"]);
  assert.equal(second.hash, sha("changed\n"));
  assert.equal(await Deno.readTextFile(dest), "changed\n");
  assert.deepEqual(await readDownloads(t.dir), {}, "the record is the caller's to write");
});

Deno.test("download() keeps the cached copy when the server is gone, and warns", async () => {
  await using t = await tempDir();
  const dest = `${t.dir}/f.txt`;
  let url: string;
  {
    await using srv = fileServer(() => "x\n");
    url = srv.url;
    const first = await download(url, dest, undefined, undefined, memoryLogger().log);
    const { log, lines } = memoryLogger();
    await srv[Symbol.asyncDispose]();
    assert.deepEqual(await download(url, dest, first, undefined, log), first);
    assert.ok(lines.some((l) => l.includes("using the cached copy")), lines.join("\n"));
  }
  await assert.rejects(
    download(url, `${t.dir}/other`, undefined, undefined, memoryLogger().log),
    (e: unknown) => e instanceof BuildError && e.code === "build.import-download",
  );
});

Deno.test("download() refuses a body whose announced or actual hash is not the pinned one", async () => {
  await using t = await tempDir();
  let header = true;
  await using srv = fileServer(
    () => "y\n",
    (): Record<string, string> => header ? { "x-checksum-sha256": "00".repeat(32) } : {},
  );
  const want = sha("something else");
  for (const announced of [true, false]) {
    header = announced;
    await assert.rejects(
      download(srv.url, `${t.dir}/f.txt`, undefined, want, memoryLogger().log),
      (e: unknown) => e instanceof BuildError && e.code === "build.import-hash-mismatch",
    );
    assert.deepEqual(await Array.fromAsync(Deno.readDir(t.dir)), [], "nothing written");
  }
});
