/**
 * liblxc bindings in this (test) process: version, config items and handle release. Starting a
 * container is tested through the helper (tests/runtime), because a daemonized start as root moves
 * the calling process into LXC's monitor cgroup.
 */
import assert from "node:assert/strict";
import { lxcConfigKeySupported, LxcContainer, lxcVersion } from "../../lib/ffi/liblxc.ts";
import { RuntimeError } from "../../lib/util/errors.ts";

Deno.test("lxcVersion() reports the installed liblxc", async () => {
  const v = lxcVersion();
  assert.match(v, /^\d+\.\d+/);
  const dpkg = await new Deno.Command("dpkg-query", {
    args: ["-W", "-f=${Version}", "liblxc1"],
    stdout: "piped",
  })
    .output();
  assert.ok(
    new TextDecoder().decode(dpkg.stdout).includes(v),
    `dpkg says ${new TextDecoder().decode(dpkg.stdout)}`,
  );
});

Deno.test("lxcConfigKeySupported() knows LXC 5 keys and rejects made-up ones", () => {
  assert.equal(lxcConfigKeySupported("lxc.cgroup.relative"), true);
  assert.equal(lxcConfigKeySupported("lxc.mount.entry"), true);
  assert.equal(lxcConfigKeySupported("lxc.no.such.key"), false);
});

Deno.test("LxcContainer sets and reads config items, refuses bad ones, and closes idempotently", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const c = LxcContainer.open("ffi-test", dir);
    c.setConfigItem("lxc.uts.name", "stacker");
    c.setConfigItem("lxc.mount.entry", "/sys sys none rbind,create=dir 0 0");
    assert.equal(c.getConfigItem("lxc.uts.name"), "stacker");
    // List items come back one per line.
    assert.equal(c.getConfigItem("lxc.mount.entry"), "/sys sys none rbind,create=dir 0 0\n");
    assert.equal(c.isRunning(), false);
    assert.equal(c.initPid(), -1);
    assert.throws(
      () => c.setConfigItem("lxc.no.such.key", "1"),
      (e) =>
        e instanceof RuntimeError && e.code === "runtime.lxc-config" && /lxc\.no\.such\.key/.test(e.message),
    );
    assert.throws(() => c.setConfigItem("lxc.autodev", "banana"), RuntimeError);
    assert.throws(() => c.setConfigItem("lxc.uts.name\0x", "x"), TypeError);
    c.close();
    c.close();
    assert.throws(() => c.setConfigItem("lxc.uts.name", "x"), RuntimeError);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
