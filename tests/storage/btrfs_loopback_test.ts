import assert from "node:assert/strict";
import { filesystemType, isMountPoint, setupBtrfsLoopback } from "../../lib/storage/btrfs_loopback.ts";
import { runAsTestUser, sourceRootForTestUser, testUserIds } from "../../scripts/fixtures/mod.ts";

async function stacker(cwd: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../cli.ts", import.meta.url).pathname, ...args],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("setupBtrfsLoopback mounts a sparse btrfs on the roots dir for the user; the user's build uses it; root's clean unmounts", async () => {
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "stacker-ts-loop-" });
  const roots = `${dir}/roots`, sd = `${dir}/.stacker`;
  try {
    const ids = await testUserIds();
    await Deno.chmod(dir, 0o755);
    await Deno.chown(dir, ids.uid, ids.gid);
    const { loopFile } = await setupBtrfsLoopback({
      stackerDir: sd,
      rootsDir: roots,
      uid: ids.uid,
      gid: ids.gid,
      size: 256 * 2 ** 20,
    });
    assert.ok(await isMountPoint(roots));
    assert.equal(await filesystemType(roots), "btrfs");
    assert.equal((await Deno.stat(roots)).uid, ids.uid);
    // sparse: the file is as big as asked, the disk holds much less
    const st = await Deno.stat(loopFile);
    assert.equal(st.size, 256 * 2 ** 20);
    assert.ok((st.blocks ?? 0) * 512 < st.size);
    // a second run is idempotent: no second mount stacked on the first
    await setupBtrfsLoopback({ stackerDir: sd, rootsDir: roots, uid: ids.uid, gid: ids.gid });
    const mounts = (await Deno.readTextFile("/proc/self/mountinfo")).split("\n").filter((l) =>
      l.split(" ")[4] === roots
    );
    assert.equal(mounts.length, 1);

    await Deno.writeTextFile(
      `${dir}/stacker.yaml`,
      "a:\n  from:\n    type: scratch\n  imports:\n    - data.txt\n",
    );
    await Deno.writeTextFile(`${dir}/data.txt`, "x");
    const cli = `${sourceRootForTestUser()}/cli.ts`;
    const b = await runAsTestUser([Deno.execPath(), "run", "-A", cli, "build", "--storage-type", "btrfs"], {
      cwd: dir,
    });
    assert.equal(b.code, 0, b.stderr);
    assert.equal((await Deno.readTextFile(`${sd}/storage.type`)).trim(), "btrfs");
    // Root in the user's project: unmounts the loopback only root can, then cleans as the user.
    const c = await stacker(dir, "clean");
    assert.equal(c.code, 0, c.stderr);
    assert.equal(await isMountPoint(roots), false);
    const left = (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
    assert.deepEqual(left, ["data.txt", "stacker.yaml"]);
  } finally {
    if (await isMountPoint(roots)) {
      await new Deno.Command("umount", { args: ["-l", roots] }).output();
    }
    await Deno.remove(dir, { recursive: true });
  }
});
