/** containerConfig() and validateRunSpec(): the LXC items of a run, and what can never reach them. */
import assert from "node:assert/strict";
import { containerConfig, validateRunSpec } from "../../lib/runtime/mod.ts";
import type { RunSpec } from "../../lib/runtime/mod.ts";
import { containerRelative, IDLE_ARGV, stackerMountPoints } from "../../lib/runtime/container_config.ts";
import { RuntimeError } from "../../lib/util/errors.ts";

const base: RunSpec = {
  name: "layer-abc123",
  lxcRootfs: { path: "overlay:/roots/a:/roots/up", options: "userxattr" },
  argv: ["/stacker/imports/.stacker-run.sh"],
  env: { PATH: "/bin" },
  binds: [{ source: "/srv/data", dest: "/data" }, {
    source: "/srv/conf.txt",
    dest: "/etc/conf.txt",
    readonly: true,
  }],
  importsDir: "/s/imports/layer",
  extraMounts: [{ source: "/tmp/labels", dest: "/stacker/oci-labels" }],
  logFile: "/s/lxc-layer.log",
  lxcPath: "/s/lxc",
};
const host = { busybox: "/bin/busybox", lifeline: "/s/lxc/run/lifeline", stackerView: "/s/lxc/run/stacker" };
const isDir = (p: string) => !p.endsWith(".txt");

Deno.test("containerConfig() sets the items of spec §3.4 in order", () => {
  const items = containerConfig(base, { ...host, realRoot: false }, isDir);
  const get = (k: string) => items.filter(([key]) => key === k).map(([, v]) => v);
  assert.deepEqual(get("lxc.uts.name"), ["stacker"]);
  assert.deepEqual(get("lxc.rootfs.path"), ["overlay:/roots/a:/roots/up"]);
  assert.deepEqual(get("lxc.rootfs.options"), ["userxattr"]);
  assert.deepEqual(get("lxc.net.0.type"), ["none"]);
  assert.deepEqual(get("lxc.mount.auto"), ["proc:mixed"]);
  assert.deepEqual(get("lxc.cgroup.relative"), []);
  const mounts = get("lxc.mount.entry");
  assert.deepEqual(mounts.slice(-7), [
    "/bin/busybox dev/.stacker/busybox none bind,ro,create=file 0 0",
    "/s/lxc/run/lifeline dev/.stacker/lifeline none bind,create=file 0 0",
    "/s/lxc/run/stacker stacker none bind,ro,create=dir 0 0",
    "/s/imports/layer stacker/imports none rbind,ro 0 0",
    "/srv/data data none rbind,create=dir 0 0",
    "/srv/conf.txt etc/conf.txt none bind,create=file,ro 0 0",
    "/tmp/labels stacker/oci-labels none rbind,create=dir 0 0",
  ]);
  assert.ok(mounts.includes("/etc/resolv.conf etc/resolv.conf none bind,ro,optional 0 0"));
  assert.deepEqual(IDLE_ARGV, ["/dev/.stacker/busybox", "cat", "/dev/.stacker/lifeline"]);
});

Deno.test("containerConfig() asks for relative cgroups only as real root; legacy imports replace /stacker", () => {
  const items = containerConfig({ ...base, importsDir: undefined, legacyImportsDir: "/old" }, {
    ...host,
    realRoot: true,
  }, isDir);
  assert.ok(items.some(([k, v]) => k === "lxc.cgroup.relative" && v === "1"));
  const mounts = items.filter(([k]) => k === "lxc.mount.entry").map(([, v]) => v);
  assert.ok(mounts.includes("/old stacker none rbind,ro,create=dir 0 0"));
  assert.ok(!mounts.some((m) => m.startsWith("/s/lxc/run/stacker ")));
});

Deno.test("stackerMountPoints() lists the mount points the read-only /stacker view needs", () => {
  assert.deepEqual(stackerMountPoints(base, isDir), { dirs: ["imports", "oci-labels"], files: [] });
});

Deno.test("validateRunSpec() refuses values that could inject config or escape the rootfs", async (t) => {
  const bad: [string, Partial<RunSpec>][] = [
    ["newline in an env value", { env: { X: "a\nlxc.mount.entry = / host none bind 0 0" } }],
    ["NUL in an env value", { env: { X: "a\0b" } }],
    ["= in an env name", { env: { "A=B": "x" } }],
    ["empty env name", { env: { "": "x" } }],
    ["bad container name", { name: "../evil" }],
    ["empty argv", { argv: [] }],
    ["relative bind source", { binds: [{ source: "data", dest: "/data" }] }],
    ["bind source with a space", { binds: [{ source: "/srv/a b", dest: "/data" }] }],
    ["bind dest with ..", { binds: [{ source: "/srv", dest: "/a/../../etc" }] }],
    ["bind dest /", { binds: [{ source: "/srv", dest: "/" }] }],
    ["relative cwd", { cwd: "tmp" }],
    ["rootfs with a newline", { lxcRootfs: { path: "dir:/a\nlxc.x = y" } }],
  ];
  for (const [name, patch] of bad) {
    await t.step(name, () => {
      assert.throws(
        () => validateRunSpec({ ...base, ...patch }),
        (e) => e instanceof RuntimeError && e.code === "runtime.bad-spec",
      );
    });
  }
  await t.step("a good spec passes", () => validateRunSpec(base));
});

Deno.test("containerRelative() strips the leading slash and normalises repeated slashes", () => {
  assert.equal(containerRelative("/a//b/"), "a/b");
  assert.throws(() => containerRelative("a/b"), RuntimeError);
});
