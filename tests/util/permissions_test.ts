import assert from "node:assert/strict";
import {
  FFI_LIBRARIES,
  HOST_READ,
  permissionFlags,
  permissionSetFor,
  resolveLibrary,
} from "../../lib/util/permissions.ts";
import { notReady } from "../e2e/_ready.ts";
import { busyboxLayout } from "../../scripts/fixtures/mod.ts";

const root = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");

Deno.test("resolveLibrary() finds libc and liblxc by absolute path, and nothing for an unknown name", () => {
  for (const so of FFI_LIBRARIES) {
    const path = resolveLibrary(so);
    assert.ok(path?.startsWith("/") && path.endsWith(`/${so}`), `${so}: ${path}`);
    assert.ok(Deno.statSync(path!).isFile);
  }
  assert.equal(resolveLibrary("libdoes-not-exist.so.9"), undefined);
});

Deno.test("permissionSetFor() grants the dirs, the inputs' dirs and the helper cache, nothing wider", () => {
  const set = permissionSetFor({
    stackerDir: "/w/.stacker",
    ociDir: "/w/oci",
    rootsDir: "/r/roots/",
    inputs: ["/src/app/stacker.yaml"],
    env: { HOME: "/home/u", TMPDIR: "/t", PATH: "/usr/bin:/bin" },
    registries: ["127.0.0.1:5000", "127.0.0.1:5000"],
    helpers: ["/home/u/.cache/stacker-ts/helpers/abc/skopeo"],
    self: "/opt/deno",
  });
  assert.deepEqual(set.write, ["/w/.stacker", "/w/oci", "/r/roots", "/home/u/.cache/stacker-ts", "/t"]);
  for (const p of [...set.write, "/src/app/stacker.yaml", "/src/app", "/home/u/.config/stacker/conf.yaml"]) {
    assert.ok(set.read.includes(p), p);
  }
  for (const p of HOST_READ) assert.ok(set.read.includes(p), p);
  assert.ok(!set.read.includes("/") && !set.read.includes("/etc") && !set.read.includes("/src"));
  assert.deepEqual(set.net, ["127.0.0.1:5000"]);
  assert.ok(
    set.run.includes("/opt/deno") && set.run.includes("/home/u/.cache/stacker-ts/helpers/abc/skopeo"),
  );
  assert.ok(set.run.includes("cp") && set.run.includes("tar"), "present on PATH");
  assert.ok(!set.run.includes("mksquashfs-not-here"));
  // ffi cannot be narrowed (pointer views need it unscoped); the libraries are readable instead
  assert.equal(set.ffi, true);
  for (const so of FFI_LIBRARIES) {
    assert.ok(set.read.some((p) => p.startsWith("/") && p.endsWith(`/${so}`)), so);
  }
});

Deno.test("permissionSetFor() refuses a relative dir and permissionFlags() a comma", () => {
  const base = { stackerDir: "/s", ociDir: "oci", rootsDir: "/r", env: {} };
  assert.throws(() => permissionSetFor(base), TypeError);
  const set = permissionSetFor({ ...base, ociDir: "/o,p" });
  assert.throws(() => permissionFlags(set), /Cannot grant read access to "\/o,p": it contains ","/);
});

Deno.test("permissionFlags() spells one flag per permission, none for an empty list", () => {
  const flags = permissionFlags({
    read: ["/a", "/b"],
    write: [],
    run: ["cp"],
    ffi: ["/lib/libc.so.6"],
    env: true,
    net: true,
    sys: ["hostname"],
  });
  assert.deepEqual(flags, [
    "--allow-read=/a,/b",
    "--allow-run=cp",
    "--allow-ffi=/lib/libc.so.6",
    "--allow-env",
    "--allow-net",
    "--allow-sys=hostname",
  ]);
});

/** A work dir outside /tmp (which the set grants as TMPDIR), with the dirs and a home. */
async function narrowWork() {
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "perm-test-" });
  const env = { HOME: `${dir}/home`, PATH: "/usr/bin:/bin", TMPDIR: "/tmp", NO_COLOR: "1" };
  const set = permissionSetFor({
    stackerDir: `${dir}/work/.stacker`,
    ociDir: `${dir}/work/oci`,
    rootsDir: `${dir}/work/roots`,
    inputs: [`${dir}/work/stacker.yaml`],
    env,
  });
  await Deno.mkdir(`${dir}/work/.stacker`, { recursive: true });
  await Deno.mkdir(`${dir}/outside`);
  return {
    dir,
    set,
    async cli(args: string[]) {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--cached-only", "--no-prompt", ...permissionFlags(set), `${root}/cli.ts`, ...args],
        cwd: `${dir}/work`,
        env: { ...env, DENO_DIR: Deno.env.get("DENO_DIR") ?? "" },
        clearEnv: true,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const dec = new TextDecoder();
      return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
    },
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("cli.ts runs version and --help under the narrow permission set", async () => {
  await using w = await narrowWork();
  const v = await w.cli(["version"]);
  assert.equal(v.code, 0, v.stderr);
  assert.match(v.stdout, /^stacker \d+\.\d+\.\d+ liblxc \S+\n$/);
  assert.equal(v.stderr, "");
  const h = await w.cli(["--help"]);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /^Usage: stacker /m);
  // Inside the set: a config file in the work dir is read, a log file in the stacker dir written.
  await Deno.writeTextFile(`${w.dir}/work/stacker.yaml`, "oci_dir: oci\n");
  const inside = await w.cli([
    "--config",
    `${w.dir}/work/stacker.yaml`,
    "--log-file",
    `${w.dir}/work/.stacker/log`,
    "--debug",
    "version",
  ]);
  assert.equal(inside.code, 0, inside.stderr);
  assert.ok((await Deno.stat(`${w.dir}/work/.stacker/log`)).isFile);
});

Deno.test("cli.ts under the narrow set fails with Deno's permission error outside it", async (t) => {
  await using w = await narrowWork();
  await t.step("reading /etc/shadow", async () => {
    const r = await w.cli(["--config", "/etc/shadow", "--debug", "version"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: Cannot read config file "\/etc\/shadow"$/m);
    assert.match(r.stderr, /caused by: NotCapable: Requires read access to "\/etc\/shadow"/);
  });
  await t.step("writing a log file outside the dirs", async () => {
    const outside = `${w.dir}/outside/x.log`;
    const r = await w.cli(["--log-file", outside, "--debug", "version"]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Requires write access to "[^"]*outside\/x\.log"/);
    await assert.rejects(Deno.stat(outside), Deno.errors.NotFound);
  });
});

Deno.test({
  name: "the example builds under the narrow permission set",
  // Needs the pipeline (tests/e2e/_ready.ts) and root, like tests/e2e/example_test.ts.
  ignore: notReady !== undefined || Deno.uid() !== 0,
  fn: async () => {
    await using w = await narrowWork();
    const base = await busyboxLayout();
    const set = permissionSetFor({
      stackerDir: `${w.dir}/work/.stacker`,
      ociDir: `${w.dir}/work/oci`,
      rootsDir: `${w.dir}/work/roots`,
      inputs: [`${root}/examples/myapp/stacker.yaml`, base.dir],
      env: { HOME: `${w.dir}/home`, PATH: "/usr/bin:/bin", TMPDIR: "/tmp" },
    });
    const r = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--cached-only",
        "--no-prompt",
        ...permissionFlags(set),
        `${root}/cli.ts`,
        "build",
        "-f",
        `${root}/examples/myapp/stacker.yaml`,
        "--substitute",
        `BASE=${base.dir}:${base.tag}`,
      ],
      cwd: `${w.dir}/work`,
      env: { HOME: `${w.dir}/home`, PATH: "/usr/bin:/bin", TMPDIR: "/tmp", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(r.stderr);
    assert.equal(r.code, 0, stderr);
    assert.match(stderr, /filesystem myapp built successfully/);
  },
});

if (notReady !== undefined) {
  Deno.test({
    name: `narrow permissions: example build waits for the pipeline (${notReady})`,
    ignore: true,
    fn: () => {},
  });
}
