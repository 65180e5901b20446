/** Unprivileged operation: needsUserns, subordinate ranges, the re-exec itself, the owner check. */
import assert from "node:assert/strict";
import {
  checkStackerDirOwner,
  idMapArgs,
  needsUserns,
  reexecInUserns,
  subordinateRange,
  usernsProblems,
} from "../../lib/runtime/mod.ts";
import { StackerError } from "../../lib/util/errors.ts";
import { runAsTestUser, sourceRootForTestUser, testUserIds } from "../../scripts/fixtures/mod.ts";

Deno.test("needsUserns() is true only for a non-root caller that is not the re-executed child", async (t) => {
  const cases: [string, Parameters<typeof needsUserns>[0], boolean][] = [
    ["root", { env: {}, uid: 0 }, false],
    ["user", { env: {}, uid: 1001 }, true],
    ["user with --internal-userns", { env: {}, uid: 1001, internalUserns: true }, false],
    ["user with STACKER_REAL_UID", { env: { STACKER_REAL_UID: "1001" }, uid: 1001 }, false],
  ];
  for (const [name, opts, want] of cases) await t.step(name, () => assert.equal(needsUserns(opts), want));
});

Deno.test("subordinateRange() finds a user's range by name or id", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/subuid`, "# comment\nalice:100000:65536\n1002:300000:70000\nbad line\n");
    assert.deepEqual(await subordinateRange(`${dir}/subuid`, { name: "alice", id: 1001 }), {
      start: 100000,
      count: 65536,
    });
    assert.deepEqual(await subordinateRange(`${dir}/subuid`, { id: 1002 }), { start: 300000, count: 70000 });
    assert.equal(await subordinateRange(`${dir}/subuid`, { name: "bob", id: 1003 }), undefined);
    assert.equal(await subordinateRange(`${dir}/missing`, { name: "alice", id: 1001 }), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("idMapArgs() maps the own ids to 0 and the subordinate range to 1…65535", () => {
  assert.deepEqual(idMapArgs(1001, 1002, { start: 100000, count: 65536 }, { start: 200000, count: 65536 }), [
    "-m",
    "u:0:1001:1",
    "-m",
    "u:1:100001:65535",
    "-m",
    "g:0:1002:1",
    "-m",
    "g:1:200001:65535",
  ]);
});

Deno.test("usernsProblems() names the missing Debian package and unpriv-setup", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/subuid`, "someone:100000:65536\n");
    await Deno.writeTextFile(`${dir}/subgid`, "x:100000:100\n");
    const problems = await usernsProblems({
      env: { PATH: dir },
      uid: 4242,
      gid: 4242,
      subuidFile: `${dir}/subuid`,
      subgidFile: `${dir}/subgid`,
    });
    const msgs = problems.map((p) => p.message);
    assert.ok(
      msgs.some((m) => /"newuidmap" is missing \(install the Debian package "uidmap"\)/.test(m)),
      msgs.join("\n"),
    );
    assert.ok(msgs.some((m) => /"lxc-usernsexec" is missing \(install the Debian package "lxc"\)/.test(m)));
    assert.equal(msgs.filter((m) => /unpriv-setup/.test(m)).length, 2);
    await assert.rejects(
      reexecInUserns(["x"], { env: { PATH: dir }, uid: 4242, gid: 4242, subuidFile: `${dir}/subuid` }),
      StackerError,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reexecInUserns() runs the program again as 0 with own uid → 0 and subordinate ids → 1…65535", async () => {
  const ids = await testUserIds();
  const probe = `${sourceRootForTestUser()}/tests/runtime/_userns_probe.ts`;
  const r = await runAsTestUser([Deno.execPath(), "run", "-A", "--cached-only", probe, "hello", "exit=3"], {
    env: { DENO_DIR: Deno.env.get("DENO_DIR") ?? "/var/cache/stacker-ts/deno" },
  });
  assert.equal(r.code, 3, r.stderr);
  const seen = JSON.parse(r.stdout);
  assert.deepEqual(seen.args, ["--internal-userns", "hello", "exit=3"]);
  assert.equal(seen.uid, "0");
  assert.equal(seen.realUid, String(ids.uid));
  const sub = await subordinateRange("/etc/subuid", { name: "builder", id: ids.uid });
  assert.deepEqual(seen.uidMap, [["0", String(ids.uid), "1"], ["1", String(sub!.start + 1), "65535"]]);
  assert.equal(seen.gidMap[0][1], String(ids.gid));
});

Deno.test("checkStackerDirOwner() refuses a stacker dir another uid used", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await checkStackerDirOwner(dir, 0);
    // another user's lock file alone is no previous run (stacker looks at the cache file only)
    await Deno.writeTextFile(`${dir}/.lock`, "");
    await Deno.chown(`${dir}/.lock`, 4321, 4321);
    await checkStackerDirOwner(dir, 0);
    await Deno.writeTextFile(`${dir}/build.cache`, "{}");
    await Deno.chown(`${dir}/build.cache`, 1234, 1234);
    await checkStackerDirOwner(dir, 1234);
    await assert.rejects(checkStackerDirOwner(dir, 0), /previous run of stacker found with uid 1234/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
