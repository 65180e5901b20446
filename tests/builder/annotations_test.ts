import assert from "node:assert/strict";
import { buildAnnotations, gitVersion } from "../../lib/builder/annotations.ts";

Deno.test("buildAnnotations() layers base, layer and stacker's own annotations", () => {
  const a = buildAnnotations({
    base: { "org.opencontainers.image.ref.name": "old", kept: "base", over: "base" },
    layer: { over: "layer", "io.stackeroci.stacker.stacker_version": "spoofed" },
    stackerYaml: "a:\n  from: {type: scratch}\n",
    stackerVersion: "9.9.9",
    gitVersion: "v1-dirty",
  });
  assert.deepEqual(a, {
    kept: "base",
    over: "layer",
    "io.stackeroci.stacker.stacker_yaml": "a:\n  from: {type: scratch}\n",
    "io.stackeroci.stacker.stacker_version": "9.9.9",
    "io.stackeroci.stacker.git_version": "v1-dirty",
  });
  const n = buildAnnotations({ namespace: "com.example", stackerYaml: "y", stackerVersion: "1" });
  assert.deepEqual(Object.keys(n), [
    "com.example.stacker.stacker_yaml",
    "com.example.stacker.stacker_version",
  ]);
});

async function git(dir: string, ...args: string[]): Promise<string> {
  const r = await new Deno.Command("git", {
    args: ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
  return new TextDecoder().decode(r.stdout).trim();
}

Deno.test("gitVersion() describes tags, falls back to the commit and marks dirty trees", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assert.equal(await gitVersion(dir), undefined);
    await git(dir, "init", "-q");
    assert.equal(await gitVersion(dir), undefined, "no commit yet");
    await Deno.writeTextFile(`${dir}/f`, "1");
    await git(dir, "add", "f");
    await git(dir, "commit", "-qm", "one");
    const head = await git(dir, "rev-parse", "HEAD");
    assert.equal(await gitVersion(dir), head);
    await git(dir, "tag", "v1.2");
    assert.equal(await gitVersion(dir), "v1.2");
    await Deno.writeTextFile(`${dir}/untracked`, "x");
    assert.equal(await gitVersion(dir), "v1.2", "untracked files do not make it dirty");
    await Deno.writeTextFile(`${dir}/f`, "2");
    assert.equal(await gitVersion(dir), "v1.2-dirty");
    await Deno.mkdir(`${dir}/sub`);
    assert.equal(await gitVersion(`${dir}/sub`), "v1.2-dirty");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
