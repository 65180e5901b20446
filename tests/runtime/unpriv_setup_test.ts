/** unprivSetup() and the subordinate-id file edits behind `stacker unpriv-setup`, on temp files. */
import assert from "node:assert/strict";
import { addSubordinateRange, nextSubordinateStart, unprivSetup } from "../../lib/runtime/mod.ts";

Deno.test("nextSubordinateStart() starts after the highest range and avoids the user's own id", () => {
  assert.equal(nextSubordinateStart("", 1000), 100000);
  assert.equal(nextSubordinateStart("a:100000:65536\nb:300000:10\n", 1000), 300010);
  assert.equal(nextSubordinateStart("", 120000), 165536);
});

Deno.test("unprivSetup() adds the ranges once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/subuid`, "root:200000:65536\n");
    await Deno.writeTextFile(`${dir}/subgid`, "root:200000:65536");
    const opts = {
      username: "alice",
      uid: 4321,
      gid: 4322,
      subuidFile: `${dir}/subuid`,
      subgidFile: `${dir}/subgid`,
    };
    await unprivSetup(opts);
    assert.equal(await Deno.readTextFile(`${dir}/subuid`), "root:200000:65536\nalice:265536:65536\n");
    assert.equal(await Deno.readTextFile(`${dir}/subgid`), "root:200000:65536\nalice:265536:65536\n");
    await unprivSetup(opts);
    assert.equal(await Deno.readTextFile(`${dir}/subuid`), "root:200000:65536\nalice:265536:65536\n");
    assert.equal(await addSubordinateRange(`${dir}/subuid`, "alice", 4321), undefined);
    assert.equal(await addSubordinateRange(`${dir}/subuid`, "bob", 4400), "bob:331072:65536");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
