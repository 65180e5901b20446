/** The helper's view of its own cgroups. */
import assert from "node:assert/strict";
import { inInitialUserns, ownCgroupProcsFiles } from "../../lib/runtime/_cgroups.ts";

Deno.test("ownCgroupProcsFiles() names an existing cgroup.procs listing this process in each hierarchy", async () => {
  const files = await ownCgroupProcsFiles();
  const lines = (await Deno.readTextFile("/proc/self/cgroup")).trim().split("\n");
  assert.equal(files.length, lines.length);
  for (const f of files) {
    const pids = (await Deno.readTextFile(f)).split("\n");
    assert.ok(pids.includes(String(Deno.pid)), f);
  }
});

Deno.test("inInitialUserns() is true for the test process (root on the host)", async () => {
  assert.equal(await inInitialUserns(), true);
});
