import assert from "node:assert/strict";
import { publishCommand } from "../../lib/commands/publish.ts";
import { busyboxLayout, startRegistry } from "../../scripts/fixtures/mod.ts";

import { type CliRun, runCliProcess } from "./_cli_process.ts";

/** `app` on busybox with one import; `child` built on it. */
const yaml = (base: string, childRun = "echo child > /child") => `
app:
  from:
    type: oci
    url: ${base}
  imports:
    - data.txt
  run: |
    cp /stacker/imports/data.txt /data.txt
child:
  from:
    type: built
    tag: app
  run: |
    ${childRun}
`;

/** Tag → manifest digest of the layout at `dir` ({} when there is none). */
async function tagsOf(dir: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/index.json`);
  } catch {
    return {};
  }
  const idx = JSON.parse(text) as { manifests: { digest: string; annotations?: Record<string, string> }[] };
  return Object.fromEntries(
    idx.manifests.map((m) => [m.annotations?.["org.opencontainers.image.ref.name"] ?? "", m.digest]),
  );
}

/** Tags of `repo` in the registry ([] when the repository does not exist). */
async function registryTags(url: string, repo: string): Promise<string[]> {
  const r = await fetch(`${url}/v2/${repo}/tags/list`);
  if (r.status === 404) {
    await r.body?.cancel();
    return [];
  }
  assert.equal(r.status, 200);
  return ((await r.json()) as { tags: string[] | null }).tags?.sort() ?? [];
}

Deno.test("publishCommand has --force and every publish flag of the CLI contract", () => {
  const names = publishCommand.flags.map((f) => f.name);
  for (const n of ["url", "tag", "force", "show-only", "image", "layer-type", "skip-tls"]) {
    assert.ok(names.includes(n), n);
  }
});

Deno.test({
  name:
    "stacker publish refuses layers the build cache would rebuild (yaml, import, parent, never built) unless --force",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const bb = await busyboxLayout();
    await using reg = await startRegistry();
    const dir = await Deno.makeTempDir({ prefix: "cli-publish-" });
    const cli = (...args: string[]): Promise<CliRun> => runCliProcess(args, dir);
    const toOci = (tag: string, ...more: string[]) =>
      cli("publish", "--url", `oci:${dir}/pub`, "--tag", tag, ...more);
    const toReg = (tag: string, ...more: string[]) =>
      cli("publish", "--url", `docker://${reg.host}/team`, "--skip-tls", "--tag", tag, ...more);
    const base = `${bb.dir}:${bb.tag}`;
    try {
      await Deno.writeTextFile(`${dir}/data.txt`, "one\n");
      await Deno.writeTextFile(`${dir}/stacker.yaml`, yaml(base));
      let r = await cli("build");
      assert.equal(r.code, 0, r.stderr);
      const built = await tagsOf(`${dir}/oci`);

      // up to date: published, to both kinds of destination
      r = await toOci("v1");
      assert.equal(r.code, 0, r.stderr);
      r = await toReg("v1");
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await tagsOf(`${dir}/pub`))["child_v1"], built.child);
      assert.deepEqual(await registryTags(reg.url, "team/child"), ["v1"]);

      // the run line of child changed: child is stale, app is not; nothing at all is published
      await Deno.writeTextFile(`${dir}/stacker.yaml`, yaml(base, "echo changed > /child"));
      r = await toOci("v2");
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /layer needs to be rebuilt before publishing: child/);
      assert.match(r.stderr, /cache miss because layer definition was changed/);
      r = await toReg("v2");
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /layer needs to be rebuilt before publishing: child/);
      assert.deepEqual(Object.keys(await tagsOf(`${dir}/pub`)).sort(), ["app_v1", "child_v1"]);
      assert.deepEqual(await registryTags(reg.url, "team/app"), ["v1"], "app was not published either");
      // only app asked for: it is up to date
      r = await toOci("v2", "--image", "app");
      assert.equal(r.code, 0, r.stderr);

      // --force publishes the image as it was built
      r = await toOci("v3", "--force");
      assert.equal(r.code, 0, r.stderr);
      r = await toReg("v3", "--force");
      assert.equal(r.code, 0, r.stderr);
      assert.equal((await tagsOf(`${dir}/pub`))["child_v3"], built.child);
      assert.deepEqual(await registryTags(reg.url, "team/child"), ["v1", "v3"]);

      // rebuilt: up to date again
      r = await cli("build");
      assert.equal(r.code, 0, r.stderr);
      r = await toOci("v4");
      assert.equal(r.code, 0, r.stderr);

      // an imported file changed: app is stale, and child (built on it) with it
      await Deno.writeTextFile(`${dir}/data.txt`, "two\n");
      r = await toOci("v5", "--image", "child");
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /layer needs to be rebuilt before publishing: child/);
      r = await toReg("v5");
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /layer needs to be rebuilt before publishing: app/);
      assert.match(r.stderr, /cache miss because import content changed: .*data\.txt/);
      assert.deepEqual(await registryTags(reg.url, "team/app"), ["v1", "v3"]);
      r = await toReg("v5", "--force");
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await registryTags(reg.url, "team/app"), ["v1", "v3", "v5"]);
      // the check left the build's cache decision as it was: the build still rebuilds app
      r = await cli("build");
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /cache miss because import content changed/);
      assert.match(r.stderr, /filesystem app built successfully/);

      // a layer that was never built needs building
      await Deno.writeTextFile(
        `${dir}/stacker.yaml`,
        yaml(base) + `extra:\n  from:\n    type: built\n    tag: app\n  run: echo extra > /extra\n`,
      );
      r = await toOci("v6", "--image", "extra");
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /layer needs to be rebuilt before publishing: extra/);
      assert.match(r.stderr, /cache miss because layer was not built before/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "stacker publish names the stacker file as the user gave it (-f as typed, -d joined), as stacker does",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const bb = await busyboxLayout();
    const dir = await Deno.makeTempDir({ prefix: "cli-publish-shown-" });
    const cli = (...args: string[]): Promise<CliRun> => runCliProcess(args, dir);
    try {
      await Deno.mkdir(`${dir}/builds/one`, { recursive: true });
      await Deno.mkdir(`${dir}/builds/two`, { recursive: true });
      await Deno.writeTextFile(
        `${dir}/builds/one/stacker.yaml`,
        `one:\n  from:\n    type: oci\n    url: ${bb.dir}:${bb.tag}\n`,
      );
      await Deno.writeTextFile(
        `${dir}/builds/two/stacker.yaml`,
        `two:\n  from:\n    type: oci\n    url: ${bb.dir}:${bb.tag}\n  build_only: true\n`,
      );
      let r = await cli("recursive-build", "-d", "builds");
      assert.equal(r.code, 0, r.stderr);
      const url = ["--url", "docker://reg.example.com/", "--tag", "t1", "--show-only"];
      r = await cli("publish", "-f", "builds/one/stacker.yaml", ...url);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(
        r.stderr.trimEnd().split("\n").at(-1),
        "would publish: builds/one/stacker.yaml one to docker://reg.example.com/one:t1",
      );
      r = await cli("publish", "-d", "./builds/", ...url);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /^would publish: builds\/one\/stacker\.yaml one to docker:\/\/reg\.example\.com\/one:t1$/m,
      );
      assert.match(r.stderr, /^will not publish: builds\/two\/stacker\.yaml build_only two$/m);
      r = await cli("publish", "-d", "missing", ...url);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^error: Cannot search for stacker files: "missing" is not a directory$/m);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
