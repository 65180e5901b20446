import assert from "node:assert/strict";
import { makeRecursiveBuildCommand, recursiveBuildCommand } from "../../lib/commands/recursive_build.ts";
import type { CommandContext, FlagValues } from "../../lib/commands/types.ts";
import type { BuildPlan } from "../../lib/stackerfile/mod.ts";
import { NotImplementedError, StackerfileError } from "../../lib/util/errors.ts";
import { memoryLogger } from "../../lib/util/log.ts";

function context(dir: string, flags: FlagValues, out: string[]): CommandContext {
  return {
    global: {
      ociDir: `${dir}/oci`,
      stackerDir: `${dir}/.stacker`,
      rootsDir: `${dir}/roots`,
      debug: false,
      quiet: false,
      progress: false,
      internalUserns: false,
    },
    flags,
    args: [],
    log: memoryLogger().log,
    signal: new AbortController().signal,
    env: {},
    argv: [],
    print: (l) => out.push(l),
  };
}

async function project(): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "recursive-build-" });
  await Deno.mkdir(`${dir}/app`);
  await Deno.mkdir(`${dir}/base`);
  await Deno.writeTextFile(
    `${dir}/app/stacker.yaml`,
    "config:\n  prerequisites: [../base/stacker.yaml]\napp:\n  from: {type: built, tag: base}\n",
  );
  await Deno.writeTextFile(
    `${dir}/base/stacker.yaml`,
    "base:\n  from: {type: oci, url: '${{STACKER_OCI_DIR}}:${{T}}'}\n",
  );
  await Deno.writeTextFile(`${dir}/base/.stacker.yaml.swp`, "garbage: [");
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test("recursive-build --order-only prints the file order and builds nothing", async () => {
  await using p = await project();
  const out: string[] = [];
  const rc = await recursiveBuildCommand.run(
    context(p.dir, { "search-dir": p.dir, "order-only": true, substitute: ["T=1"] }, out),
  );
  assert.equal(rc, 0);
  assert.deepEqual(out, [
    `0 build ${p.dir}/base/stacker.yaml: requires: []`,
    `1 build ${p.dir}/app/stacker.yaml: requires: [${p.dir}/base/stacker.yaml]`,
  ]);
  assert.equal(await Deno.stat(`${p.dir}/oci`).catch(() => undefined), undefined, "nothing built");
});

Deno.test("recursive-build hands the ordered plan to its build function", async () => {
  await using p = await project();
  let got: BuildPlan | undefined;
  const cmd = makeRecursiveBuildCommand((plan) => {
    got = plan;
    return Promise.resolve();
  });
  await cmd.run(context(p.dir, { "search-dir": p.dir, substitute: ["T=v2"] }, []));
  assert.deepEqual(got?.layers.map((l) => [l.name, l.from.url ?? l.from.tag]), [
    ["base", `${p.dir}/oci:v2`],
    ["app", "base"],
  ]);
});

Deno.test("recursive-build without a build function prints the order, then says it cannot build yet", async () => {
  await using p = await project();
  const out: string[] = [];
  await assert.rejects(
    () => makeRecursiveBuildCommand().run(context(p.dir, { "search-dir": p.dir, substitute: ["T=1"] }, out)),
    NotImplementedError,
  );
  assert.equal(out.length, 2);
});

Deno.test("recursive-build fails clearly when nothing matches or a value is missing", async () => {
  await using p = await project();
  await assert.rejects(
    () =>
      recursiveBuildCommand.run(
        context(p.dir, { "search-dir": p.dir, "stacker-file-pattern": "nomatch$" }, []),
      ),
    (e: unknown) => e instanceof StackerfileError && e.code === "stackerfile.none-found",
  );
  await assert.rejects(
    () => recursiveBuildCommand.run(context(p.dir, { "search-dir": p.dir, "order-only": true }, [])),
    (e: unknown) => e instanceof StackerfileError && /no value for substitution T/.test(e.message),
  );
});

Deno.test("recursive-build builds every stacker file it finds, prerequisites first", async () => {
  const dir = await Deno.makeTempDir({ prefix: "recursive-build-e2e-" });
  try {
    await Deno.mkdir(`${dir}/a`);
    await Deno.mkdir(`${dir}/b`);
    await Deno.writeTextFile(
      `${dir}/a/stacker.yaml`,
      "first:\n  from:\n    type: scratch\n  imports:\n    - f.txt\n",
    );
    await Deno.writeTextFile(`${dir}/a/f.txt`, "f");
    await Deno.writeTextFile(
      `${dir}/b/stacker.yaml`,
      "config:\n  prerequisites:\n    - ../a/stacker.yaml\nsecond:\n  from:\n    type: built\n    tag: first\n",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../cli.ts", import.meta.url).pathname, "recursive-build", "-d", dir],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, err);
    assert.ok(err.indexOf("filesystem first built") < err.indexOf("filesystem second built"), err);
    const index = JSON.parse(await Deno.readTextFile(`${dir}/oci/index.json`));
    const tags = index.manifests.map((m: { annotations: Record<string, string> }) =>
      m.annotations["org.opencontainers.image.ref.name"]
    );
    assert.deepEqual(tags.sort(), ["first", "second"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("recursive-build searches the cwd by default, also with --work-dir (output goes there, not input)", async () => {
  await using p = await project();
  const work = await Deno.makeTempDir({ prefix: "recursive-build-work-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../cli.ts", import.meta.url).pathname,
        "--work-dir",
        work,
        "recursive-build",
        "--order-only",
        "--substitute",
        "T=1",
      ],
      cwd: p.dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const real = await Deno.realPath(p.dir);
    assert.deepEqual(new TextDecoder().decode(out.stdout).trimEnd().split("\n"), [
      `0 build ${real}/base/stacker.yaml: requires: []`,
      `1 build ${real}/app/stacker.yaml: requires: [${real}/base/stacker.yaml]`,
    ]);
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});
