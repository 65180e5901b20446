import assert from "node:assert/strict";
import { busyboxLayout, multiLayerLayout, startRegistry } from "../../scripts/fixtures/mod.ts";
import { OciLayout, sha256Digest } from "../../lib/oci/mod.ts";
import {
  baseCacheTag,
  baseFetcher,
  detectCompression,
  fetchBase,
  openBaseCache,
} from "../../lib/transport/mod.ts";
import type { FetchBaseOptions } from "../../lib/transport/mod.ts";
import { OciError } from "../../lib/util/errors.ts";
import { memoryLogger } from "../../lib/util/log.ts";
import { startProxy, startServer } from "./_servers.ts";

async function stackerDir() {
  const dir = await Deno.makeTempDir({ prefix: "stacker-ts-fetch-" });
  const { log, lines } = memoryLogger();
  const opts: FetchBaseOptions = {
    cacheLayout: await openBaseCache(dir),
    stackerDir: dir,
    os: "linux",
    arch: "amd64",
    log,
    retries: 1,
  };
  return { dir, opts, lines, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("fetchBase() passes scratch and built through", async () => {
  await using s = await stackerDir();
  assert.deepEqual(await fetchBase({ type: "scratch" }, s.opts), { kind: "scratch" });
  assert.deepEqual(await fetchBase({ type: "built", tag: "parent" }, s.opts), {
    kind: "built",
    tag: "parent",
  });
  await assert.rejects(fetchBase({ type: "built" }, s.opts), OciError);
  await assert.rejects(fetchBase({ type: "tar" }, s.opts), OciError);
});

Deno.test("baseCacheTag() differs for every url and platform", () => {
  const tags = new Set([
    baseCacheTag("docker://x/y/busybox:1.2", "linux", "amd64"),
    baseCacheTag("docker://z/busybox:1.2", "linux", "amd64"),
    baseCacheTag("oci:/a:latest", "linux", "amd64"),
    baseCacheTag("oci:/b:latest", "linux", "amd64"),
    baseCacheTag("oci:/a:latest", "linux", "arm64"),
  ]);
  assert.equal(tags.size, 5);
});

Deno.test("fetchBase() copies a docker base once; the second fetch downloads no blob", async () => {
  await using reg = await startRegistry();
  await using s = await stackerDir();
  const f = await multiLayerLayout();
  await reg.pushLayout(f.dir, f.tag, "base:1");
  await using proxy = startProxy(reg.url);
  const url = `docker://${proxy.host}/base:1`;
  const first = await fetchBase({ type: "docker", url }, s.opts);
  assert.equal(first.kind, "image");
  if (first.kind !== "image") return;
  const fixture = await (await OciLayout.open(f.dir)).imageOf(f.tag);
  assert.deepEqual(first.config.rootfs.diff_ids, fixture.config.rootfs.diff_ids);
  assert.equal(await first.layout.hasBlob(first.manifest.layers[0].digest), true);
  const blobGets = () => proxy.seen.filter((r) => r.method === "GET" && r.path.includes("/blobs/")).length;
  const before = blobGets();
  assert.ok(before >= fixture.manifest.layers.length);
  const second = await fetchBase({ type: "docker", url }, s.opts);
  assert.equal(blobGets(), before);
  assert.equal(second.kind === "image" && second.manifestDescriptor.digest, first.manifestDescriptor.digest);
  // a pinned digest that is cached needs no network at all
  const pinned = `docker://${proxy.host}/base@${first.manifestDescriptor.digest}`;
  await fetchBase({ type: "docker", url: pinned }, s.opts);
  const seen = proxy.seen.length;
  await fetchBase({ type: "docker", url: pinned }, s.opts);
  assert.equal(proxy.seen.length, seen);
  // the registry gone: the cached copy is used with a warning
  await proxy[Symbol.asyncDispose]();
  const offline = await fetchBase({ type: "docker", url }, s.opts);
  assert.equal(offline.kind, "image");
  assert.ok(s.lines.some((l) => l.startsWith("warn: cannot reach")));
});

Deno.test("fetchBase() reads oci bases, tags with colons, and the cache layout itself as input", async () => {
  await using s = await stackerDir();
  const f = await busyboxLayout();
  const dir = `${s.dir}/in`;
  await new Deno.Command("cp", { args: ["-a", f.dir, dir] }).output();
  const layout = await OciLayout.open(dir);
  await layout.tag("busybox:0.1.1", (await layout.resolve(f.tag))!);
  const viaOci = await fetchBase({ type: "oci", url: `${dir}:busybox:0.1.1` }, s.opts);
  const viaDocker = await fetchBase({ type: "docker", url: `oci:${dir}:${f.tag}` }, s.opts);
  assert.equal(viaOci.kind, "image");
  assert.equal(
    viaOci.kind === "image" && viaDocker.kind === "image" && viaOci.manifestDescriptor.digest,
    viaDocker.kind === "image" && viaDocker.manifestDescriptor.digest,
  );
  if (viaOci.kind !== "image") return;
  // the cache layout as input (as stacker allows the output layout as input)
  const again = await fetchBase({ type: "oci", url: `${s.opts.cacheLayout.dir}:${viaOci.cacheTag}` }, s.opts);
  assert.equal(again.kind === "image" && again.manifestDescriptor.digest, viaOci.manifestDescriptor.digest);
  await assert.rejects(
    fetchBase({ type: "oci", url: `${dir}:missing` }, s.opts),
    (e: unknown) => e instanceof OciError && e.code === "oci.no-tag",
  );
});

Deno.test("baseFetcher() is fetchBase over the stacker dir's base cache, created on first use", async () => {
  await using s = await stackerDir();
  const f = await busyboxLayout();
  const sd = `${s.dir}/other-stacker-dir`;
  const fetch = baseFetcher({ stackerDir: sd, env: {} });
  await assert.rejects(
    Deno.stat(`${sd}/layer-bases/oci`),
    Deno.errors.NotFound,
    "nothing opened before a fetch",
  );
  const request = { os: "linux", arch: "amd64", log: s.opts.log };
  const base = await fetch({ type: "oci", url: `${f.dir}:${f.tag}` }, request);
  assert.ok(base.kind === "image");
  assert.equal(base.layout.dir, `${sd}/layer-bases/oci`);
  assert.ok(await base.layout.hasBlob(base.manifest.layers[0].digest));
  assert.deepEqual(await fetch({ type: "built", tag: "parent" }, request), { kind: "built", tag: "parent" });
});

Deno.test("fetchBase() gives local tar bases with their compression", async () => {
  await using s = await stackerDir();
  await Deno.writeTextFile(`${s.dir}/f`, "hello");
  await new Deno.Command("tar", { args: ["-C", s.dir, "-cf", `${s.dir}/b.tar`, "f"] }).output();
  await new Deno.Command("sh", { args: ["-c", `gzip -k ${s.dir}/b.tar && zstd -q -k ${s.dir}/b.tar`] })
    .output();
  for (const [name, want] of [["b.tar", "none"], ["b.tar.gz", "gzip"], ["b.tar.zst", "zstd"]] as const) {
    const r = await fetchBase({ type: "tar", url: `${s.dir}/${name}` }, s.opts);
    assert.deepEqual(r, {
      kind: "tar",
      path: `${s.dir}/${name}`,
      digest: sha256Digest(await Deno.readFile(`${s.dir}/${name}`)),
      compression: want,
    });
    assert.equal(await detectCompression(`${s.dir}/${name}`), want);
  }
});

Deno.test("fetchBase() caches http tar bases and revalidates them with ETag", async () => {
  await using s = await stackerDir();
  let body = "version-1", etag = '"v1"';
  await using web = startServer((req) =>
    req.headers.get("if-none-match") === etag
      ? new Response(null, { status: 304 })
      : new Response(body, { headers: { etag } })
  );
  const url = `${web.url}/files/rootfs.tar`;
  const a = await fetchBase({ type: "tar", url }, s.opts);
  assert.equal(a.kind === "tar" && await Deno.readTextFile(a.path), "version-1");
  const b = await fetchBase({ type: "tar", url }, s.opts);
  assert.equal(b.kind === "tar" && b.path, a.kind === "tar" && a.path);
  assert.equal(web.seen[1].headers.get("if-none-match"), '"v1"');
  body = "version-2";
  etag = '"v2"';
  const c = await fetchBase({ type: "tar", url }, s.opts);
  assert.equal(c.kind === "tar" && await Deno.readTextFile(c.path), "version-2");
  assert.equal(c.kind === "tar" && c.digest, sha256Digest("version-2"));
  // another url with the same basename does not collide
  const d = await fetchBase({ type: "tar", url: `${web.url}/other/rootfs.tar` }, s.opts);
  assert.notEqual(d.kind === "tar" && d.path, c.kind === "tar" && c.path);
});

Deno.test("fetchBase() resolves stacker:// tar urls through the build's reader", async () => {
  await using s = await stackerDir();
  const asked: string[] = [];
  const r = await fetchBase({ type: "tar", url: "stacker://builder/out/rootfs.tar" }, {
    ...s.opts,
    readStackerPath: async (layer, path, dest) => {
      asked.push(`${layer}:${path}`);
      await Deno.writeTextFile(dest, "from-layer");
    },
  });
  assert.deepEqual(asked, ["builder:out/rootfs.tar"]);
  assert.equal(r.kind === "tar" && await Deno.readTextFile(r.path), "from-layer");
  await assert.rejects(fetchBase({ type: "tar", url: "stacker://x/y" }, s.opts), OciError);
});

Deno.test("fetchBase() goes through skopeo for oci-archive: bases", async () => {
  await using s = await stackerDir();
  const f = await busyboxLayout();
  const archive = `${s.dir}/img.tar`;
  const out = await new Deno.Command("skopeo", {
    args: ["copy", "--quiet", `oci:${f.dir}:${f.tag}`, `oci-archive:${archive}`],
  })
    .output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const r = await fetchBase({ type: "docker", url: `oci-archive:${archive}` }, s.opts);
  const fixture = await (await OciLayout.open(f.dir)).imageOf(f.tag);
  assert.equal(r.kind === "image" && r.config.rootfs.diff_ids[0], fixture.config.rootfs.diff_ids[0]);
  await assert.rejects(
    fetchBase({ type: "docker", url: `docker-archive:${s.dir}/missing.tar` }, s.opts),
    (e: unknown) => e instanceof OciError && e.code === "transport.skopeo-failed",
  );
});
