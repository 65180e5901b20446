/** runtimeRequirements(): each host requirement, ok on this machine and FAIL with the package when missing. */
import assert from "node:assert/strict";
import { isPrivilegedHelper, runtimeRequirements } from "../../lib/runtime/mod.ts";

Deno.test("isPrivilegedHelper() sees newuidmap's setuid bit and nothing on an ordinary binary", async () => {
  assert.equal(await isPrivilegedHelper("/usr/bin/newuidmap"), "setuid");
  assert.equal(await isPrivilegedHelper("/bin/true"), undefined);
});

Deno.test("runtimeRequirements() finds everything on this host, as root and for the test user's ids", async () => {
  const env = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root" };
  const asRoot = await runtimeRequirements({ env, rootsDir: "/tmp/roots-not-there" });
  assert.deepEqual(asRoot.filter((r) => !r.ok), []);
  assert.deepEqual(asRoot.map((r) => r.name), [
    "kernel",
    "liblxc",
    "lxc-usernsexec",
    "newuidmap",
    "newgidmap",
    "subuid",
    "subgid",
    "busybox (static)",
    "roots dir",
  ]);
  const asUser = await runtimeRequirements({ env, rootsDir: "/tmp", uid: 1001, gid: 1001 });
  assert.match(asUser.find((r) => r.name === "subuid")!.detail, /^100000:65536$/);
});

Deno.test("runtimeRequirements() reports a user without ranges and a PATH without the tools", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/subuid`, "other:100000:65536\n");
    const reqs = await runtimeRequirements({
      env: { PATH: dir },
      rootsDir: dir,
      uid: 4242,
      gid: 4242,
      subuidFile: `${dir}/subuid`,
      subgidFile: `${dir}/subgid`,
    });
    const failed = Object.fromEntries(reqs.filter((r) => !r.ok).map((r) => [r.name, r.detail]));
    assert.match(failed["newuidmap"], /Debian package "uidmap"/);
    assert.match(failed["lxc-usernsexec"], /Debian package "lxc"/);
    assert.match(failed["subuid"], /unpriv-setup/);
    assert.match(failed["subgid"], /unpriv-setup/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
