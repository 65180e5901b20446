/**
 * A base image or a run step may hold setuid binaries. On the host they must sit behind a
 * directory only the building user can enter (the roots dir, the imports staging under the stacker
 * dir): otherwise any local user runs them, as root after a root build.
 */
import assert from "node:assert/strict";
import { busyboxLayout } from "../../scripts/fixtures/mod.ts";
import { chownTree, projectDir, sh, stackerAs, WHO } from "./_project.ts";

/** Whether uid 65534 can reach `path` (every directory on the way searchable). */
async function nobodyReaches(path: string): Promise<boolean> {
  const r = await new Deno.Command("setpriv", {
    args: ["--reuid=65534", "--regid=65534", "--clear-groups", "--", "stat", path],
    stdout: "null",
    stderr: "null",
  }).output();
  return r.success;
}

for (const who of WHO) {
  Deno.test(`setuid files of a build are out of other users' reach on the host (${who})`, async () => {
    const base = await busyboxLayout();
    await using p = await projectDir(who, "setuid");
    await Deno.writeTextFile(
      `${p.path}/stacker.yaml`,
      `src:
  from:
    type: oci
    url: ${base.dir}:${base.tag}
  build_only: true
  run: |
    cp /bin/busybox /suid
    chmod 4755 /suid
use:
  from:
    type: built
    tag: src
  imports:
    - stacker://src/suid
    - path: stacker://src/suid
      dest: /opt/suid
  run: test -u /stacker/imports/suid
`,
    );
    await chownTree(p.path, who);
    const r = await stackerAs(who, p.path, ["build"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await nobodyReaches(p.path), true, "the project dir itself is open to all");
    const found =
      (await sh("find", [p.path, "-path", `${p.path}/oci`, "-prune", "-o", "-perm", "-4000", "-print"]))
        .split("\n").filter((l) => l !== "");
    assert.ok(found.length >= 2, `setuid copies on the host: ${found}`);
    for (const f of found) assert.equal(await nobodyReaches(f), false, `${f} is reachable by uid 65534`);
  });
}
