/**
 * The README's main job end to end through the CLI: build examples/myapp on the busybox base as root
 * and as the unprivileged test user, inspect it, and rebuild from the cache.
 */
import assert from "node:assert/strict";
import { busyboxLayout, runAsTestUser, sourceRootForTestUser } from "../../scripts/fixtures/mod.ts";
import { notReady } from "./_ready.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");
const isRoot = Deno.uid() === 0;

async function cli(args: string[], cwd: string, env: Record<string, string> = {}) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--cached-only", `${root}/cli.ts`, ...args],
    cwd,
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

interface Inspected {
  tag: string;
  layers: { digest: string }[];
  config: { config?: { Cmd?: string[]; Env?: string[] } };
}

function checkInspect(json: string, layoutDir: string): Promise<void> {
  const images = JSON.parse(json) as Inspected[];
  assert.deepEqual(images.map((i) => i.tag), ["myapp"]);
  const [img] = images;
  assert.equal(img.layers.length, 2, "busybox + one layer for the run");
  assert.deepEqual(img.config.config?.Cmd, ["/usr/bin/myapp"]);
  assert.ok(img.config.config?.Env?.includes("MYAPP_CONFIG=/etc/myapp/config.json"));
  return listLayer(`${layoutDir}/blobs/${img.layers[1].digest.replace(":", "/")}`).then((names) => {
    assert.ok(names.includes("etc/myapp/config.json"), names.join("\n"));
    assert.ok(names.includes("usr/bin/myapp"));
  });
}

async function listLayer(path: string): Promise<string[]> {
  const r = await new Deno.Command("tar", { args: ["-tzf", path], stdout: "piped" }).output();
  return new TextDecoder().decode(r.stdout).split("\n").filter((l) => l);
}

Deno.test({
  name: "the example builds as root, inspects, and rebuilds from the cache",
  ignore: notReady !== undefined || !isRoot,
  fn: async (t) => {
    for (const storage of ["overlay", "copy"]) {
      await t.step(storage, () => exampleAsRoot(storage));
    }
  },
});

async function exampleAsRoot(storage: string): Promise<void> {
  {
    const base = await busyboxLayout();
    const work = await Deno.makeTempDir({ prefix: "e2e-example-" });
    try {
      const args = [
        "--storage-type",
        storage,
        "build",
        "-f",
        `${root}/examples/myapp/stacker.yaml`,
        "--substitute",
        `BASE=${base.dir}:${base.tag}`,
      ];
      const first = await cli(args, work);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stderr, /filesystem myapp built successfully/);
      const inspect = await cli(["inspect", "--json"], work);
      assert.equal(inspect.code, 0, inspect.stderr);
      await checkInspect(inspect.stdout, `${work}/oci`);
      const second = await cli(args, work);
      assert.equal(second.code, 0, second.stderr);
      assert.match(second.stderr, /found cached layer myapp/);
      const text = await cli(["inspect"], work);
      assert.match(text.stdout, /^image: myapp$/m);
    } finally {
      await Deno.remove(work, { recursive: true });
    }
  }
}

Deno.test({
  name: "the example builds as the unprivileged test user",
  ignore: notReady !== undefined || !isRoot,
  fn: async () => {
    const base = await busyboxLayout();
    const work = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "e2e-example-user-" });
    try {
      await Deno.chmod(work, 0o777);
      const src = sourceRootForTestUser();
      const run = (args: string[]) =>
        runAsTestUser([Deno.execPath(), "run", "-A", "--cached-only", `${src}/cli.ts`, ...args], {
          cwd: work,
        });
      const r = await run([
        "build",
        "-f",
        `${src}/examples/myapp/stacker.yaml`,
        "--substitute",
        `BASE=${base.dir}:${base.tag}`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      const inspect = await run(["inspect", "--json"]);
      assert.equal(inspect.code, 0, inspect.stderr);
      await checkInspect(inspect.stdout, `${work}/oci`);
    } finally {
      // Files the user's namespace made may belong to subordinate ids: remove as root.
      await Deno.remove(work, { recursive: true });
    }
  },
});

if (notReady !== undefined) {
  Deno.test({ name: `e2e: pipeline not wired yet (${notReady})`, ignore: true, fn: () => {} });
}
