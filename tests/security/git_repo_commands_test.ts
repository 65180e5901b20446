/**
 * The directory a stacker file sits in is input: a repository there may configure commands
 * (`core.fsmonitor`, hooks, clean filters). `git_version` must never run them with more rights than
 * the repository's owner has: root's build in a user's repository runs them as nobody but that
 * user, and a repository git refuses gives no annotation and one warning.
 */
import assert from "node:assert/strict";
import { chownTree, projectDir, sh, stackerAs, WHO } from "./_project.ts";

async function plantedRepo(dir: string): Promise<void> {
  await sh("git", ["init", "-q", dir]);
  await Deno.writeTextFile(`${dir}/tracked`, "1\n");
  await sh("git", ["-C", dir, "add", "tracked"]);
  await sh("git", ["-C", dir, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one"]);
  await sh("git", ["-C", dir, "tag", "v9"]);
  const evil = `${dir}/.git/evil.sh`;
  // Every command leaves a file owned by whoever ran it (as the host sees it: inside a user
  // namespace `id -u` says 0); as a clean filter it also passes the content through.
  await Deno.writeTextFile(evil, `#!/bin/sh\nmktemp ${dir}/ran.XXXXXX >/dev/null\nexec cat\n`, {
    mode: 0o755,
  });
  await sh("git", ["-C", dir, "config", "core.fsmonitor", evil]);
  await sh("git", ["-C", dir, "config", "filter.evil.clean", evil]);
  await Deno.writeTextFile(`${dir}/.git/info/attributes`, "* filter=evil\n");
  for (const hook of ["post-index-change", "post-checkout", "reference-transaction"]) {
    await Deno.copyFile(evil, `${dir}/.git/hooks/${hook}`);
    await Deno.chmod(`${dir}/.git/hooks/${hook}`, 0o755);
  }
  // A new mtime with the same content: git status must re-check the file (through the filter).
  await Deno.utime(`${dir}/tracked`, new Date(), new Date(Date.now() + 5000));
}

async function gitAnnotation(oci: string, tag: string): Promise<string | undefined> {
  const index = JSON.parse(await Deno.readTextFile(`${oci}/index.json`));
  const desc = index.manifests.find((m: { annotations?: Record<string, string> }) =>
    m.annotations?.["org.opencontainers.image.ref.name"] === tag
  );
  const manifest = JSON.parse(await Deno.readTextFile(`${oci}/blobs/sha256/${desc.digest.slice(7)}`));
  return manifest.annotations?.["io.stackeroci.stacker.git_version"];
}

/** Host uids that ran a repository command. */
async function ranAs(dir: string): Promise<number[]> {
  const uids: number[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (e.name.startsWith("ran.")) uids.push((await Deno.lstat(`${dir}/${e.name}`)).uid!);
  }
  return uids;
}

const YAML = "t:\n  from:\n    type: scratch\n";

for (const who of WHO) {
  Deno.test(`git_version never runs a repository's commands as root (${who} builds in builder's repository)`, async () => {
    await using dirDir = await projectDir("root", "gitcmds");
    const dir = dirDir.path;
    await plantedRepo(dir);
    await Deno.writeTextFile(`${dir}/stacker.yaml`, YAML);
    await chownTree(dir, "builder");
    // Root reads the user's stacker file but writes only where root alone can (its own dirs).
    await using out = await projectDir(who, "gitcmds-out");
    const dirs = ["stacker", "roots", "oci"].flatMap((d) => [`--${d}-dir`, `${out.path}/${d}`]);
    const r = await stackerAs(who, dir, [...dirs, "build"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(!(await ranAs(dir)).includes(0), `a repository command ran as root: ${await ranAs(dir)}`);
    // fsmonitor and hooks are off whoever runs git; the user's own filter may run, as the user.
    assert.match((await gitAnnotation(`${out.path}/oci`, "t"))!, /^v9/);
    assert.doesNotMatch(r.stderr, /git_version/);
  });
}

Deno.test({
  name: "git_version: a repository git refuses gives no annotation and one warning (builder in root's repo)",
  ignore: WHO.length === 0,
  fn: async () => {
    await using topDir = await projectDir("root", "gitrefused");
    const top = topDir.path;
    await plantedRepo(top);
    await Deno.mkdir(`${top}/proj`);
    await Deno.writeTextFile(`${top}/proj/stacker.yaml`, YAML + YAML.replace("t:", "u:"));
    await chownTree(`${top}/proj`, "builder");
    const r = await stackerAs("builder", `${top}/proj`, ["build"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await gitAnnotation(`${top}/proj/oci`, "t"), undefined);
    assert.equal(r.stderr.match(/git refused the repository/g)?.length, 1, r.stderr);
    assert.deepEqual(await ranAs(top), [], "no repository command ran");
  },
});
