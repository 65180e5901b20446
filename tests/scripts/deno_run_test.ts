/**
 * `deno run <path>/cli.ts` without the project's deno.json (nor deno.lock): npm dependencies are
 * imported only through lib/util/deps.ts with fully qualified specifiers, so a copy of the tree
 * with no config runs. The example build joins once the pipeline is wired (tests/e2e/_ready.ts).
 */
import assert from "node:assert/strict";
import { notReady } from "../e2e/_ready.ts";
import { busyboxLayout } from "../../scripts/fixtures/mod.ts";

const root = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const dec = new TextDecoder();

/** A copy of the tree without deno.json, deno.lock, .git and vendor/bin, in a dir with no config above it. */
async function configlessCopy() {
  const dir = await Deno.makeTempDir({ prefix: "configless-" });
  const tar = new Deno.Command("tar", {
    args: [
      "-C",
      root,
      "--exclude=./.git",
      "--exclude=./deno.json",
      "--exclude=./deno.lock",
      "--exclude=./vendor/bin",
      "--exclude=./oci",
      "--exclude=./roots",
      "--exclude=./.stacker",
      "-cf",
      "-",
      ".",
    ],
    stdout: "piped",
  }).spawn();
  const untar = new Deno.Command("tar", { args: ["-C", `${dir}/tree`, "-xf", "-"], stdin: "piped" });
  await Deno.mkdir(`${dir}/tree`);
  const child = untar.spawn();
  await tar.stdout.pipeTo(child.stdin);
  assert.ok((await tar.status).success && (await child.status).success);
  await Deno.mkdir(`${dir}/work`);
  return {
    tree: `${dir}/tree`,
    work: `${dir}/work`,
    async cli(args: string[]) {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--cached-only", `${dir}/tree/cli.ts`, ...args],
        cwd: `${dir}/work`,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("cli.ts runs --help and version from a copy of the tree without deno.json", async () => {
  await using c = await configlessCopy();
  await assert.rejects(Deno.stat(`${c.tree}/deno.json`), Deno.errors.NotFound);
  const v = await c.cli(["version"]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /^stacker \d+\.\d+\.\d+ liblxc \S+$/m);
  const h = await c.cli(["--help"]);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /^Usage: stacker /m);
});

Deno.test("no module outside lib/util/deps.ts imports an npm package by bare name or npm: specifier", async () => {
  const offenders: string[] = [];
  const scan = async (p: string) => {
    const text = await Deno.readTextFile(p);
    for (const m of text.matchAll(/^\s*(?:import|export)[^"';]*from\s+["']([^"']+)["']/gm)) {
      const spec = m[1];
      if (!spec.startsWith(".") && !spec.startsWith("node:") && !spec.startsWith("/")) {
        offenders.push(`${p.slice(root.length + 1)}: ${spec}`);
      }
    }
  };
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) await walk(p);
      else if (e.name.endsWith(".ts") && p !== `${root}/lib/util/deps.ts`) await scan(p);
    }
  };
  await walk(`${root}/lib`);
  await scan(`${root}/cli.ts`);
  await scan(`${root}/mod.ts`);
  assert.deepEqual(offenders, []);
});

Deno.test({
  name: "the example builds from a copy of the tree without deno.json",
  ignore: notReady !== undefined || Deno.uid() !== 0,
  fn: async () => {
    await using c = await configlessCopy();
    const base = await busyboxLayout();
    const r = await c.cli([
      "build",
      "-f",
      `${c.tree}/examples/myapp/stacker.yaml`,
      "--substitute",
      `BASE=${base.dir}:${base.tag}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /filesystem myapp built successfully/);
    const inspect = await c.cli(["inspect", "--json"]);
    assert.equal(inspect.code, 0, inspect.stderr);
    assert.deepEqual(JSON.parse(inspect.stdout).map((i: { tag: string }) => i.tag), ["myapp"]);
  },
});

if (notReady !== undefined) {
  Deno.test({
    name: `deno run without deno.json: example build waits for the pipeline (${notReady})`,
    ignore: true,
    fn: () => {},
  });
}
