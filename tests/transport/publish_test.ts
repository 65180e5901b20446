import assert from "node:assert/strict";
import { busyboxLayout, startRegistry } from "../../scripts/fixtures/mod.ts";
import { OciLayout } from "../../lib/oci/mod.ts";
import { publish, RegistryClient } from "../../lib/transport/mod.ts";
import { BuildError } from "../../lib/util/errors.ts";
import { memoryLogger } from "../../lib/util/log.ts";

/** An output layout with layers "app" (tar and squashfs tags) and "tools" (build_only). */
async function output(dir: string): Promise<OciLayout> {
  const f = await busyboxLayout();
  await new Deno.Command("cp", { args: ["-a", f.dir, `${dir}/oci`] }).output();
  const layout = await OciLayout.open(`${dir}/oci`);
  const desc = (await layout.resolve(f.tag))!;
  for (const t of ["app", "app-squashfs", "tools"]) await layout.tag(t, desc);
  return layout;
}

const IMAGES = [{ layer: "app", file: "stacker.yaml" }, {
  layer: "tools",
  file: "stacker.yaml",
  buildOnly: true,
}];

Deno.test("publish() to oci:dir names tags <layer>_<tag> and skips build_only layers", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const layout = await output(dir);
    const { log, lines } = memoryLogger();
    const r = await publish({ layout, url: `oci:${dir}/pub`, tags: ["1.0", "latest"], images: IMAGES, log });
    assert.deepEqual(r.map((p) => p.dest), [`oci:${dir}/pub:app_1.0`, `oci:${dir}/pub:app_latest`]);
    const pub = await OciLayout.open(`${dir}/pub`);
    assert.deepEqual((await pub.tags()).map((t) => t.name).sort(), ["app_1.0", "app_latest"]);
    assert.equal((await pub.resolve("app_1.0"))?.digest, (await layout.resolve("app"))?.digest);
    assert.ok(lines.includes("will not publish: stacker.yaml build_only tools"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("publish() to a registry with credentials, squashfs suffix and --image filter", async () => {
  await using reg = await startRegistry({ htpasswd: { user: "me", password: "pw" } });
  const dir = await Deno.makeTempDir();
  try {
    const layout = await output(dir);
    const { log } = memoryLogger();
    const r = await publish({
      layout,
      url: `docker://${reg.host}/team`,
      tags: ["v1"],
      images: IMAGES,
      only: ["app"],
      layerTypes: ["tar", "squashfs"],
      credentials: { username: "me", password: "pw" },
      log,
    });
    assert.deepEqual(r.map((p) => p.dest), [
      `docker://${reg.host}/team/app:v1`,
      `docker://${reg.host}/team/app:v1-squashfs`,
    ]);
    using client = await RegistryClient.connect({
      registry: reg.host,
      credentials: { username: "me", password: "pw" },
    });
    const m = await client.getManifest("team/app", "v1-squashfs");
    assert.equal(m.descriptor.digest, (await layout.resolve("app-squashfs"))?.digest);
    const sk = await new Deno.Command("skopeo", {
      args: ["inspect", "--tls-verify=false", "--creds", "me:pw", `docker://${reg.host}/team/app:v1`],
    }).output();
    assert.equal(sk.code, 0, new TextDecoder().decode(sk.stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("publish() --show-only copies nothing; a stale layer needs --force", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const layout = await output(dir);
    const { log, lines } = memoryLogger();
    await publish({ layout, url: `oci:${dir}/pub`, tags: ["t"], images: IMAGES, showOnly: true, log });
    assert.ok(lines.includes(`would publish: stacker.yaml app to oci:${dir}/pub:app_t`));
    await assert.rejects(Deno.stat(`${dir}/pub`), Deno.errors.NotFound);
    const stale = { needsRebuild: (l: string) => Promise.resolve(l === "app") };
    await assert.rejects(
      publish({ layout, url: `oci:${dir}/pub`, tags: ["t"], images: IMAGES, log, ...stale }),
      (e: unknown) =>
        e instanceof BuildError && e.message === "layer needs to be rebuilt before publishing: app",
    );
    const r = await publish({
      layout,
      url: `oci:${dir}/pub`,
      tags: ["t"],
      images: IMAGES,
      log,
      force: true,
      ...stale,
    });
    assert.equal(r.length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
