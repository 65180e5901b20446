import assert from "node:assert/strict";
import { prepareMountPoints } from "../../lib/runtime/_mount_points.ts";

Deno.test("prepareMountPoints() sets links aside for the run and puts them back with their times", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/etc`);
    await Deno.symlink("../run/stub-resolv.conf", `${root}/etc/resolv.conf`);
    await Deno.symlink("/elsewhere", `${root}/stacker`);
    const old = new Date("2020-01-01T00:00:00Z");
    await Deno.utime(`${root}/etc`, old, old);
    await Deno.utime(root, old, old);
    const points = await prepareMountPoints(root, []);
    assert.equal((await Deno.lstat(`${root}/stacker`)).isDirectory, true);
    const placeholder = await Deno.lstat(`${root}/etc/resolv.conf`);
    assert.deepEqual([placeholder.isFile, placeholder.size], [true, 0]);
    await points.restore();
    assert.equal(await Deno.readLink(`${root}/etc/resolv.conf`), "../run/stub-resolv.conf");
    assert.equal(await Deno.readLink(`${root}/stacker`), "/elsewhere");
    assert.equal((await Deno.lstat(`${root}/etc`)).mtime?.getTime(), old.getTime());
    assert.equal((await Deno.lstat(root)).mtime?.getTime(), old.getTime());
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("prepareMountPoints() hides a lower dir's links with upper placeholders and removes them after", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const [lower, upper] = [`${dir}/lower`, `${dir}/upper`];
    await Deno.mkdir(`${lower}/etc`, { recursive: true });
    await Deno.mkdir(upper);
    await Deno.symlink("/run/stub", `${lower}/etc/resolv.conf`);
    await Deno.symlink("/x", `${lower}/stacker`);
    const points = await prepareMountPoints(upper, [lower]);
    assert.equal((await Deno.lstat(`${upper}/stacker`)).isDirectory, true);
    assert.equal((await Deno.lstat(`${upper}/etc/resolv.conf`)).isFile, true);
    await points.restore();
    assert.deepEqual(await Array.fromAsync(Deno.readDir(upper)), [], "the upper dir is empty again");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("prepareMountPoints() leaves a rootfs with a real /stacker and resolv.conf as it is", async () => {
  const root = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${root}/etc`);
    await Deno.mkdir(`${root}/stacker`);
    await Deno.writeTextFile(`${root}/etc/resolv.conf`, "nameserver 1.1.1.1\n");
    const points = await prepareMountPoints(root, []);
    await points.restore();
    assert.equal(await Deno.readTextFile(`${root}/etc/resolv.conf`), "nameserver 1.1.1.1\n");
    assert.equal((await Deno.lstat(`${root}/stacker`)).isDirectory, true);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
