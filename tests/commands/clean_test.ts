import assert from "node:assert/strict";
import { runAsTestUser, sourceRootForTestUser } from "../../scripts/fixtures/mod.ts";

const cli = new URL("../../cli.ts", import.meta.url).pathname;

async function stacker(cwd: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", cli, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

const file = `
a:
  from:
    type: scratch
  imports:
    - data.txt
`;

Deno.test("clean removes the roots, OCI and stacker dirs a build made", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/stacker.yaml`, file);
    await Deno.writeTextFile(`${dir}/data.txt`, "x");
    const b = await stacker(dir, "build");
    assert.equal(b.code, 0, b.stderr);
    for (const d of ["roots", "oci", ".stacker"]) assert.ok((await Deno.lstat(`${dir}/${d}`)).isDirectory);
    const c = await stacker(dir, "clean");
    assert.equal(c.code, 0, c.stderr);
    const left = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    assert.deepEqual(left, ["data.txt", "stacker.yaml"]);
    assert.equal((await stacker(dir, "clean")).code, 0, "clean of nothing is fine");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("clean as the unprivileged user removes files owned by its subordinate ids", async () => {
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "stacker-ts-clean-" });
  try {
    await Deno.chmod(dir, 0o777);
    await Deno.writeTextFile(`${dir}/stacker.yaml`, file);
    await Deno.writeTextFile(`${dir}/data.txt`, "x");
    const src = sourceRootForTestUser();
    const b = await runAsTestUser([Deno.execPath(), "run", "-A", `${src}/cli.ts`, "build"], { cwd: dir });
    assert.equal(b.code, 0, b.stderr);
    const c = await runAsTestUser([Deno.execPath(), "run", "-A", `${src}/cli.ts`, "clean"], { cwd: dir });
    assert.equal(c.code, 0, c.stderr);
    const left = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    assert.deepEqual(left, ["data.txt", "stacker.yaml"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
