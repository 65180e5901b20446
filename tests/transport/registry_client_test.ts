import assert from "node:assert/strict";
import { multiLayerLayout, startRegistry } from "../../scripts/fixtures/mod.ts";
import { MediaType, OciLayout, sha256Digest } from "../../lib/oci/mod.ts";
import type { Descriptor } from "../../lib/oci/mod.ts";
import {
  copyImage,
  layoutDestination,
  layoutSource,
  RegistryClient,
  registryDestination,
  registrySource,
} from "../../lib/transport/mod.ts";
import type { RegistryClientOptions } from "../../lib/transport/mod.ts";
import { OciError, RegistryError } from "../../lib/util/errors.ts";
import { startProxy, startServer, startTokenServer } from "./_servers.ts";

const PLATFORM = { os: "linux", arch: "amd64" };
const FAST = { baseDelayMs: 5, maxDelayMs: 50 } as const;

async function tempDir(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "stacker-ts-transport-" });
  return { path, [Symbol.asyncDispose]: () => Deno.remove(path, { recursive: true }) };
}

async function pullInto(client: RegistryClient, repo: string, ref: string, dir: string) {
  const layout = await OciLayout.open(dir, { create: true });
  const r = await copyImage(registrySource(client, repo, ref), layoutDestination(layout), {
    platform: PLATFORM,
    tags: ["pulled"],
  });
  return { layout, ...r };
}

async function blobFiles(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(`${dir}/blobs/sha256`))).map((e) => e.name).sort();
}

const isCode = (code: string) => (e: unknown) =>
  (e instanceof RegistryError || e instanceof OciError) && e.code === code;

Deno.test("RegistryClient pulls by tag and by digest, verified, into a layout umoci and skopeo read", async () => {
  await using reg = await startRegistry();
  await using tmp = await tempDir();
  const f = await multiLayerLayout();
  await reg.pushLayout(f.dir, f.tag, "multi:1");
  using client = await RegistryClient.connect({ registry: reg.host });
  const byTag = await pullInto(client, "multi", "1", `${tmp.path}/a`);
  const want = (await (await OciLayout.open(f.dir)).resolve(f.tag))!;
  const fixture = await (await OciLayout.open(f.dir)).imageOf(f.tag);
  assert.deepEqual(byTag.manifest.layers.map((l) => l.digest), fixture.manifest.layers.map((l) => l.digest));
  assert.equal(byTag.copied, fixture.manifest.layers.length + 1);
  const byDigest = await pullInto(client, "multi", byTag.descriptor.digest, `${tmp.path}/b`);
  assert.equal(byDigest.descriptor.digest, byTag.descriptor.digest);
  assert.deepEqual(await blobFiles(`${tmp.path}/a`), await blobFiles(`${tmp.path}/b`));
  assert.ok(want.digest.startsWith("sha256:"));
  const umoci = await new Deno.Command("umoci", { args: ["ls", "--layout", `${tmp.path}/a`] }).output();
  assert.equal(new TextDecoder().decode(umoci.stdout).trim(), "pulled");
  const sk = await new Deno.Command("skopeo", { args: ["inspect", `oci:${tmp.path}/a:pulled`] }).output();
  assert.equal(sk.code, 0, new TextDecoder().decode(sk.stderr));
  await assert.rejects(client.getManifest("multi", "nope"), isCode("registry.http-404"));
});

Deno.test("RegistryClient resolves a manifest list to the platform, or lists the platforms offered", async () => {
  await using reg = await startRegistry();
  await using tmp = await tempDir();
  const f = await multiLayerLayout();
  const src = await OciLayout.open(f.dir);
  const layout = await OciLayout.open(`${tmp.path}/idx`, { create: true });
  // an index of two real images (the fixture, and the fixture with an arm64 config)
  const amd = await copyImage(layoutSource(src, f.tag), layoutDestination(layout), {
    platform: PLATFORM,
    tags: ["amd"],
  });
  const img = await layout.imageOf("amd");
  const armConfig = await layout.putJson({ ...img.config, architecture: "arm64" }, MediaType.ociConfig);
  const arm = await layout.putJson({ ...img.manifest, config: armConfig }, MediaType.ociManifest);
  const index = await layout.putJson({
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [
      { ...amd.descriptor, platform: { os: "linux", architecture: "amd64" } },
      { ...arm, platform: { os: "linux", architecture: "arm64" } },
    ],
  }, MediaType.ociIndex);
  await layout.tag("multi", index);
  const push = await new Deno.Command("skopeo", {
    args: [
      "copy",
      "--quiet",
      "--all",
      "--dest-tls-verify=false",
      `oci:${tmp.path}/idx:multi`,
      `docker://${reg.host}/plat:1`,
    ],
  }).output();
  assert.equal(push.code, 0, new TextDecoder().decode(push.stderr));
  using client = await RegistryClient.connect({ registry: reg.host });
  assert.equal(
    (await client.resolveImage("plat", "1", { os: "linux", arch: "arm64" })).descriptor.digest,
    arm.digest,
  );
  assert.equal((await client.resolveImage("plat", "1", PLATFORM)).descriptor.digest, amd.descriptor.digest);
  await assert.rejects(
    client.resolveImage("plat", "1", { os: "linux", arch: "riscv64" }),
    (e: unknown) =>
      e instanceof OciError && e.code === "oci.no-platform" && /linux\/amd64, linux\/arm64/.test(e.message),
  );
});

Deno.test("RegistryClient authenticates with htpasswd basic auth and refuses a wrong password", async () => {
  await using reg = await startRegistry({ htpasswd: { user: "alice", password: "s3cret" } });
  await using tmp = await tempDir();
  const f = await multiLayerLayout();
  await reg.pushLayout(f.dir, f.tag, "priv:1");
  {
    using ok = await RegistryClient.connect({
      registry: reg.host,
      credentials: { username: "alice", password: "s3cret" },
    });
    assert.equal((await pullInto(ok, "priv", "1", `${tmp.path}/ok`)).manifest.layers.length > 0, true);
  }
  {
    using bad = await RegistryClient.connect({
      registry: reg.host,
      credentials: { username: "alice", password: "wrong" },
    });
    await assert.rejects(bad.getManifest("priv", "1"), isCode("registry.unauthorized"));
  }
  {
    using anon = await RegistryClient.connect({ registry: reg.host });
    await assert.rejects(anon.getManifest("priv", "1"), isCode("registry.unauthorized"));
  }
  // credentials from a containers auth.json named by REGISTRY_AUTH_FILE
  await Deno.writeTextFile(
    `${tmp.path}/auth.json`,
    JSON.stringify({ auths: { [reg.host]: { auth: btoa("alice:s3cret") } } }),
  );
  using fromFile = await RegistryClient.connect({
    registry: reg.host,
    env: { REGISTRY_AUTH_FILE: `${tmp.path}/auth.json` },
  });
  assert.equal((await fromFile.getManifest("priv", "1")).descriptor.size > 0, true);
});

Deno.test("RegistryClient gets scoped bearer tokens from a token server the registry trusts", async () => {
  await using tmp = await tempDir();
  await using tokens = await startTokenServer(tmp.path, { user: "bob", password: "pw" });
  await using reg = await startRegistry({ tokenAuth: tokens });
  const f = await multiLayerLayout();
  const creds = { username: "bob", password: "pw" };
  {
    using client = await RegistryClient.connect({ registry: reg.host, credentials: creds });
    const src = layoutSource(await OciLayout.open(f.dir), f.tag);
    await copyImage(src, registryDestination(client, "team/app"), { platform: PLATFORM, tags: ["v1"] });
    const pulled = await pullInto(client, "team/app", "v1", `${tmp.path}/pulled`);
    assert.ok(pulled.copied > 0);
  }
  assert.ok(tokens.requests.some((r) => r.authed && r.scopes.includes("repository:team/app:pull,push")));
  assert.ok(tokens.requests.some((r) => r.authed && r.scopes.includes("repository:team/app:pull")));
  using wrong = await RegistryClient.connect({
    registry: reg.host,
    credentials: { username: "bob", password: "no" },
  });
  await assert.rejects(wrong.getManifest("team/app", "v1"), isCode("registry.unauthorized"));
});

Deno.test("RegistryClient speaks TLS with a given CA; without it the connection is refused", async () => {
  await using reg = await startRegistry({ tls: true });
  const ca = await Deno.readTextFile(reg.caFile!);
  using client = await RegistryClient.connect({ registry: reg.host, caCerts: [ca], ...FAST, retries: 1 });
  assert.equal(await client.hasBlob("x", sha256Digest("nothing")), false);
  await assert.rejects(RegistryClient.connect({ registry: reg.host, ...FAST, retries: 1 }), RegistryError);
});

Deno.test("an insecure source speaks TLS without verifying the certificate, and pulls verified blobs", async () => {
  await using reg = await startRegistry({ tls: true });
  const f = await multiLayerLayout();
  await reg.pushLayout(f.dir, f.tag, "img:1");
  using client = await RegistryClient.connect({ registry: reg.host, insecure: true, ...FAST, retries: 1 });
  const img = await client.resolveImage("img", "1", { os: "linux", arch: "amd64" });
  const layer = img.manifest.layers[0];
  const bytes = new Uint8Array(await new Response(await client.openBlob("img", layer)).arrayBuffer());
  assert.equal(sha256Digest(bytes), layer.digest, "the blob is still checked against its digest");
  assert.equal(await client.hasBlob("img", sha256Digest("nothing")), false);
});

/** A non-loopback IPv4 address of this machine, to serve http from somewhere that is not loopback. */
const OFF_LOOPBACK = Deno.networkInterfaces().find((i) =>
  i.family === "IPv4" && !i.address.startsWith("127.")
)?.address;

Deno.test({
  name: "RegistryClient allows plain http off loopback only when insecure",
  ignore: OFF_LOOPBACK === undefined,
}, async () => {
  await using reg = await startRegistry();
  await using proxy = startProxy(reg.url, OFF_LOOPBACK);
  await assert.rejects(
    RegistryClient.connect({ registry: proxy.host, ...FAST, retries: 0 }),
    isCode("registry.unreachable"),
  );
  using client = await RegistryClient.connect({ registry: proxy.host, insecure: true, ...FAST });
  assert.equal(await client.hasBlob("x", sha256Digest("nothing")), false);
});

async function proxiedImage() {
  const reg = await startRegistry();
  const f = await multiLayerLayout();
  await reg.pushLayout(f.dir, f.tag, "img:1");
  const proxy = startProxy(reg.url);
  const fixture = await (await OciLayout.open(f.dir)).imageOf(f.tag);
  const biggest = [...fixture.manifest.layers].sort((a, b) => b.size - a.size)[0];
  return {
    reg,
    proxy,
    biggest,
    async [Symbol.asyncDispose]() {
      await proxy[Symbol.asyncDispose]();
      await reg.stop();
    },
  };
}

function connect(host: string, extra: Partial<RegistryClientOptions> = {}) {
  return RegistryClient.connect({ registry: host, ...FAST, ...extra });
}

Deno.test("a blob whose bytes do not match its digest is refused and nothing is stored", async () => {
  await using t = await proxiedImage();
  await using tmp = await tempDir();
  t.proxy.rewrite = async (res, url) => {
    if (!url.pathname.includes(`/blobs/${t.biggest.digest}`) || res.status !== 200) return res;
    const bytes = new Uint8Array(await res.arrayBuffer());
    bytes[bytes.length - 1] ^= 0xff;
    return new Response(bytes, { status: 200, headers: res.headers });
  };
  using client = await connect(t.proxy.host);
  await assert.rejects(pullInto(client, "img", "1", `${tmp.path}/l`), isCode("oci.digest-mismatch"));
  const layout = await OciLayout.open(`${tmp.path}/l`);
  assert.equal(await layout.hasBlob(t.biggest.digest), false);
  assert.deepEqual(await layout.tags(), []);
});

Deno.test("a truncated download is resumed with Range, and refused when it keeps failing", async () => {
  await using t = await proxiedImage();
  await using tmp = await tempDir();
  let truncations = 0;
  let always = false;
  t.proxy.rewrite = async (res, url) => {
    if (!url.pathname.includes(`/blobs/${t.biggest.digest}`) || (res.status !== 200 && res.status !== 206)) {
      return res;
    }
    if (truncations > 0 && !always) return res;
    truncations++;
    const bytes = new Uint8Array(await res.arrayBuffer());
    const h = new Headers(res.headers);
    h.delete("content-length");
    return new Response(bytes.slice(0, Math.floor(bytes.length / 2)), { status: 200, headers: h });
  };
  {
    using client = await connect(t.proxy.host);
    const r = await pullInto(client, "img", "1", `${tmp.path}/ok`);
    assert.ok(r.layout && await r.layout.hasBlob(t.biggest.digest));
    assert.equal(truncations, 1);
    const ranged = t.proxy.seen.filter((s) => s.headers.get("range"));
    assert.equal(ranged.length, 1);
    assert.match(ranged[0].headers.get("range")!, /^bytes=\d+-$/);
  }
  always = true;
  truncations = 0;
  using client = await connect(t.proxy.host, { retries: 2 });
  const layout = await OciLayout.open(`${tmp.path}/bad`, { create: true });
  await assert.rejects(
    copyImage(registrySource(client, "img", "1"), layoutDestination(layout), {
      platform: PLATFORM,
      tags: ["x"],
    }),
    (e: unknown) => e instanceof RegistryError || e instanceof OciError,
  );
  assert.equal(await layout.hasBlob(t.biggest.digest), false);
  assert.ok(truncations >= 1);
});

Deno.test("429 (with Retry-After) and 500 are retried; a 404 is not", async () => {
  await using t = await proxiedImage();
  await using tmp = await tempDir();
  const plan = [
    () => new Response("slow down", { status: 429, headers: { "retry-after": "0" } }),
    () => new Response("oops", { status: 500 }),
    () => new Response("oops", { status: 503 }),
  ];
  let injected = 0;
  t.proxy.fault = (_req, url) => {
    if (!url.pathname.includes("/manifests/") && !url.pathname.includes("/blobs/")) return undefined;
    const next = plan.shift();
    if (!next) return undefined;
    injected++;
    return next();
  };
  using client = await connect(t.proxy.host);
  const r = await pullInto(client, "img", "1", `${tmp.path}/l`);
  assert.equal(injected, 3);
  assert.ok(r.copied > 0);
  const before = t.proxy.seen.length;
  await assert.rejects(client.getManifest("img", "missing"), isCode("registry.http-404"));
  assert.equal(t.proxy.seen.length - before, 1);
  // a registry that always fails gives up after the budget, saying a retry could help
  using few = await connect(t.proxy.host, { retries: 2 });
  t.proxy.fault = () => new Response("down", { status: 502 });
  await assert.rejects(
    few.getManifest("img", "1"),
    (e: unknown) => e instanceof RegistryError && e.status === 502 && e.retryable,
  );
});

Deno.test("blob redirects to another host are followed without the credentials", async () => {
  await using reg = await startRegistry({ htpasswd: { user: "u", password: "p" } });
  const f = await multiLayerLayout();
  await reg.pushLayout(f.dir, f.tag, "r:1");
  const fixture = await (await OciLayout.open(f.dir)).imageOf(f.tag);
  const layer = fixture.manifest.layers[0];
  const bytes = new Uint8Array(
    await new Response(await (await OciLayout.open(f.dir)).openBlob(layer)).arrayBuffer(),
  );
  await using cdn = startServer(() => new Response(bytes));
  await using proxy = startProxy(reg.url);
  proxy.fault = (req, url) =>
    url.pathname.endsWith(`/blobs/${layer.digest}`) && req.headers.get("authorization")
      ? new Response(null, { status: 307, headers: { location: `${cdn.url}/blob?sig=1` } })
      : undefined;
  using client = await connect(proxy.host, { credentials: { username: "u", password: "p" } });
  const got = new Uint8Array(await new Response(await client.openBlob("r", layer)).arrayBuffer());
  assert.equal(sha256Digest(got), layer.digest);
  assert.equal(cdn.seen.length, 1);
  assert.equal(cdn.seen[0].headers.get("authorization"), null);
});

Deno.test("push then pull is byte-identical; chunked uploads, HEAD skips and cross-repo mounts", async () => {
  await using reg = await startRegistry();
  await using tmp = await tempDir();
  const f = await multiLayerLayout();
  const src = await OciLayout.open(f.dir);
  using client = await RegistryClient.connect({ registry: reg.host, chunkSize: 1024 });
  const pushed = await copyImage(layoutSource(src, f.tag), registryDestination(client, "push/a"), {
    platform: PLATFORM,
    tags: ["v1", "v2"],
  });
  const again = await copyImage(layoutSource(src, f.tag), registryDestination(client, "push/a"), {
    platform: PLATFORM,
    tags: ["v1"],
  });
  assert.equal(again.copied, 0);
  const pulled = await pullInto(client, "push/a", "v2", `${tmp.path}/back`);
  assert.equal(pulled.descriptor.digest, pushed.descriptor.digest);
  for (const d of [pushed.manifest.config, ...pushed.manifest.layers] as Descriptor[]) {
    assert.deepEqual(
      await Deno.readFile(pulled.layout.blobPath(d.digest)),
      await Deno.readFile(src.blobPath(d.digest)),
    );
  }
  const layer = pushed.manifest.layers[0];
  assert.equal(
    await client.pushBlob("push/b", layer, () => src.openBlob(layer), { mountFrom: "push/a" }),
    "mounted",
  );
  assert.equal(await client.hasBlob("push/b", layer.digest), true);
  assert.equal(await client.pushBlob("push/b", layer, () => src.openBlob(layer)), "exists");
});

Deno.test("RegistryClient pulls Docker schema-2 images and keeps their manifest bytes", async () => {
  await using reg = await startRegistry();
  await using tmp = await tempDir();
  const f = await multiLayerLayout();
  const push = await new Deno.Command("skopeo", {
    args: [
      "copy",
      "--quiet",
      "--format",
      "v2s2",
      "--dest-tls-verify=false",
      `oci:${f.dir}:${f.tag}`,
      `docker://${reg.host}/d2:1`,
    ],
  }).output();
  assert.equal(push.code, 0, new TextDecoder().decode(push.stderr));
  using client = await RegistryClient.connect({ registry: reg.host });
  const r = await pullInto(client, "d2", "1", `${tmp.path}/l`);
  assert.equal(r.descriptor.mediaType, MediaType.dockerManifest);
  assert.equal(r.manifest.config.mediaType, MediaType.dockerConfig);
  const img = await r.layout.imageOf("pulled");
  assert.equal(img.manifestDescriptor.digest, r.descriptor.digest);
  assert.equal(img.config.rootfs.diff_ids.length, img.manifest.layers.length);
  // the exact bytes are kept (so the digest still verifies); umoci lists the tag
  assert.equal(
    sha256Digest(await Deno.readFile(r.layout.blobPath(r.descriptor.digest))),
    r.descriptor.digest,
  );
  const umoci = await new Deno.Command("umoci", { args: ["ls", "--layout", `${tmp.path}/l`] }).output();
  assert.equal(new TextDecoder().decode(umoci.stdout).trim(), "pulled");
});

Deno.test("an upload location on another host gets the blob but never the credentials", async () => {
  await using reg = await startRegistry({ htpasswd: { user: "u", password: "p" } });
  const f = await multiLayerLayout();
  const src = await OciLayout.open(f.dir);
  // "store" stands for object storage with a presigned URL: it authorizes by the URL, so it adds
  // the registry's credentials itself when forwarding; the client must send none to it.
  await using store = startProxy(reg.url, "127.0.0.1", (h) => h.set("authorization", `Basic ${btoa("u:p")}`));
  await using proxy = startProxy(reg.url);
  proxy.rewrite = (res, url) => {
    const loc = res.headers.get("location");
    if (!(res.status === 202 && url.pathname.endsWith("/blobs/uploads/") && loc)) return res;
    const out = new Headers(res.headers);
    out.set("location", loc.replace(proxy.url, store.url));
    return new Response(res.body, { status: res.status, headers: out });
  };
  for (const chunkSize of [undefined, 256]) {
    using client = await connect(proxy.host, { credentials: { username: "u", password: "p" }, chunkSize });
    const repo = `up/${chunkSize ?? "mono"}`;
    const pushed = await copyImage(layoutSource(src, f.tag), registryDestination(client, repo), {
      platform: PLATFORM,
      tags: ["1"],
    });
    const layer = pushed.manifest.layers[0];
    const back = new Uint8Array(await new Response(await client.openBlob(repo, layer)).arrayBuffer());
    assert.equal(sha256Digest(back), layer.digest);
  }
  assert.ok(store.seen.some((r) => r.method === "PUT"), "uploads went to the other host");
  assert.ok(store.seen.some((r) => r.method === "PATCH"), "chunks went to the other host");
  for (const r of store.seen) assert.equal(r.headers.get("authorization"), null, `${r.method} ${r.path}`);
  assert.ok(proxy.seen.some((r) => r.headers.get("authorization")), "the registry itself got them");
});
