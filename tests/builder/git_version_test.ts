import assert from "node:assert/strict";
import { gitVersion } from "../../lib/builder/git_version.ts";

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

Deno.test("gitVersion() runs neither the repository's fsmonitor nor its hooks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await git(dir, "init", "-q");
    await Deno.writeTextFile(`${dir}/f`, "1");
    await git(dir, "add", "f");
    await git(dir, "commit", "-qm", "one");
    const script = `${dir}/.git/evil.sh`;
    await Deno.writeTextFile(script, `#!/bin/sh\necho ran >> ${dir}/marker\n`, { mode: 0o755 });
    await git(dir, "config", "core.fsmonitor", script);
    await Deno.copyFile(script, `${dir}/.git/hooks/post-index-change`);
    await Deno.chmod(`${dir}/.git/hooks/post-index-change`, 0o755);
    await Deno.writeTextFile(`${dir}/f`, "2");
    assert.match((await gitVersion(dir))!, /^[0-9a-f]{40}-dirty$/);
    await assert.rejects(() => Deno.lstat(`${dir}/marker`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "gitVersion() gives nothing, and says why once, for a repository git refuses",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await git(dir, "init", "-q");
      await Deno.writeTextFile(`${dir}/f`, "1");
      await git(dir, "add", "f");
      await git(dir, "commit", "-qm", "one");
      // The work tree is root's (git runs as root), its .git someone else's: git refuses it.
      await new Deno.Command("chown", { args: ["-R", "65534", `${dir}/.git`] }).output();
      const seen: string[] = [];
      assert.equal(await gitVersion(dir, { onRefused: (m) => seen.push(m) }), undefined);
      assert.equal(seen.length, 1);
      assert.match(
        seen[0],
        /^No git_version annotation for ".*": git refused the repository \(detected dubious/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
