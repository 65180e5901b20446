import assert from "node:assert/strict";
import {
  cachedHelperPath,
  findHelper,
  HELPER_MANIFEST,
  helperCacheDir,
  helperNames,
  helperSource,
  helperStatus,
  isStaticElf,
  sha256File,
} from "../../lib/util/helpers.ts";
import { StackerError } from "../../lib/util/errors.ts";
import { memoryLogger, silentLogger } from "../../lib/util/log.ts";
import { runAsTestUser, sourceRootForTestUser, testUserIds } from "../../scripts/fixtures/mod.ts";

const BUSYBOX = helperSource("busybox");
const HOST_BUSYBOX = `/${BUSYBOX.path}`;

/** A temp tree: `path/` (a PATH dir), `embedded/` (an embedded dir), `cache/` (XDG_CACHE_HOME). */
async function sandbox() {
  const dir = await Deno.makeTempDir({ prefix: "helpers-test-" });
  await Deno.mkdir(`${dir}/path`);
  await Deno.mkdir(`${dir}/embedded`);
  return {
    dir,
    env: { PATH: `${dir}/path`, XDG_CACHE_HOME: `${dir}/cache`, HOME: "/nonexistent" },
    embeddedDir: `${dir}/embedded`,
    async [Symbol.asyncDispose]() {
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function run(path: string, ...args: string[]): Promise<number> {
  return (await new Deno.Command(path, { args, stdout: "null", stderr: "null" }).output()).code;
}

Deno.test("the manifest names a Debian package, version, path and sha256 for every helper", () => {
  assert.deepEqual(helperNames(), ["busybox", "skopeo", "umoci"]);
  for (const [name, entry] of Object.entries(HELPER_MANIFEST.helpers)) {
    const src = entry.arches["x86_64"];
    assert.ok(src, name);
    assert.match(src.sha256, /^[0-9a-f]{64}$/, name);
    assert.match(src.version, /\d/, name);
    assert.ok(src.package && src.debArch && !src.path.startsWith("/"), name);
  }
  assert.equal(HELPER_MANIFEST.helpers.busybox.static, true);
});

Deno.test("helperSource() refuses an unknown helper and an unknown arch", () => {
  assert.throws(
    () => helperSource("nope"),
    (e: unknown) => e instanceof StackerError && e.code === "helper.unknown",
  );
  assert.throws(
    () => helperSource("umoci", "riscv64"),
    (e: unknown) => e instanceof StackerError && e.code === "helper.no-arch",
  );
});

Deno.test("helperCacheDir() prefers XDG_CACHE_HOME, then HOME, and fails without both", () => {
  assert.equal(helperCacheDir({ XDG_CACHE_HOME: "/x", HOME: "/h" }), "/x/stacker-ts/helpers");
  assert.equal(helperCacheDir({ XDG_CACHE_HOME: "relative", HOME: "/h/" }), "/h/.cache/stacker-ts/helpers");
  assert.throws(() => helperCacheDir({}), (e: unknown) => e instanceof StackerError);
});

Deno.test("isStaticElf() tells a static binary from a dynamic one and from a script", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/script`, "#!/bin/sh\necho hi\n");
    await Deno.writeFile(`${dir}/short`, new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2]));
    const cases: [string, string, boolean][] = [
      ["static busybox", HOST_BUSYBOX, true],
      ["dynamic umoci", "/usr/bin/umoci", false],
      ["the deno binary", Deno.execPath(), false],
      ["a shell script", `${dir}/script`, false],
      ["a truncated ELF header", `${dir}/short`, false],
    ];
    for (const [label, path, want] of cases) {
      await t.step(label, async () => assert.equal(await isStaticElf(path), want));
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("findHelper() uses the host's executable on PATH first", async () => {
  await using s = await sandbox();
  await Deno.copyFile("/usr/bin/umoci", `${s.dir}/path/umoci`);
  await Deno.copyFile("/usr/bin/umoci", `${s.embeddedDir}/umoci`);
  const got = await findHelper("umoci", { log: silentLogger, env: s.env, embeddedDir: s.embeddedDir });
  assert.equal(got, `${s.dir}/path/umoci`);
  // A file without an execute bit is not a candidate: the embedded copy is used instead.
  await Deno.chmod(`${s.dir}/path/umoci`, 0o644);
  const status = await helperStatus("umoci", { log: silentLogger, env: s.env, embeddedDir: s.embeddedDir });
  assert.equal(status.origin, "embedded");
});

Deno.test("findHelper() writes the embedded copy to the cache once, verified and executable", async () => {
  await using s = await sandbox();
  // A dynamically linked "busybox" on PATH cannot serve as the container's idle init.
  await Deno.copyFile("/usr/bin/umoci", `${s.dir}/path/busybox`);
  await Deno.copyFile(HOST_BUSYBOX, `${s.embeddedDir}/busybox`);
  const { log, lines } = memoryLogger();
  const opts = { log, env: s.env, embeddedDir: s.embeddedDir };
  const got = await findHelper("busybox", opts);
  assert.equal(got, cachedHelperPath("busybox", BUSYBOX.sha256, s.env));
  assert.ok(got.startsWith(`${s.dir}/cache/stacker-ts/helpers/${BUSYBOX.sha256}/`));
  assert.equal(await sha256File(got), BUSYBOX.sha256);
  assert.equal((await Deno.stat(got)).mode! & 0o777, 0o755);
  assert.equal(await run(got, "true"), 0);
  assert.ok(lines.some((l) => l.includes("not statically linked")), lines.join("\n"));
  const ino = (await Deno.stat(got)).ino;
  assert.equal(await findHelper("busybox", opts), got);
  assert.equal((await Deno.stat(got)).ino, ino, "second call reuses the cached file");
  const leftovers =
    (await Array.fromAsync(Deno.readDir(`${s.dir}/cache/stacker-ts/helpers/${BUSYBOX.sha256}`))).map((e) =>
      e.name
    );
  assert.deepEqual(leftovers, ["busybox"]);
});

Deno.test("findHelper() rewrites a cached copy that no longer matches its hash", async () => {
  await using s = await sandbox();
  await Deno.copyFile(HOST_BUSYBOX, `${s.embeddedDir}/busybox`);
  const target = cachedHelperPath("busybox", BUSYBOX.sha256, s.env);
  await Deno.mkdir(target.slice(0, target.lastIndexOf("/")), { recursive: true });
  await Deno.writeTextFile(target, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  const { log, lines } = memoryLogger();
  const got = await findHelper("busybox", { log, env: s.env, embeddedDir: s.embeddedDir });
  assert.equal(got, target);
  assert.equal(await sha256File(got), BUSYBOX.sha256);
  assert.ok(lines.some((l) => l.startsWith("warn: Cached helper does not match")), lines.join("\n"));
});

Deno.test("findHelper() refuses an embedded copy whose hash is wrong and leaves nothing behind", async () => {
  await using s = await sandbox();
  await Deno.writeTextFile(`${s.embeddedDir}/umoci`, "not umoci");
  const err = await findHelper("umoci", { log: silentLogger, env: s.env, embeddedDir: s.embeddedDir })
    .then(() => undefined, (e) => e);
  assert.ok(err instanceof StackerError);
  assert.equal(err.code, "helper.bad-hash");
  assert.match(err.message, /^Cannot use embedded helper "umoci": its sha256 is "[0-9a-f]{64}"/);
  const dir = `${s.dir}/cache/stacker-ts/helpers/${helperSource("umoci").sha256}`;
  assert.deepEqual(await Array.fromAsync(Deno.readDir(dir)), []);
});

Deno.test("findHelper() names the Debian package when there is neither a host nor an embedded copy", async () => {
  await using s = await sandbox();
  const err = await findHelper("skopeo", { log: silentLogger, env: s.env, embeddedDir: s.embeddedDir })
    .then(() => undefined, (e) => e);
  assert.ok(err instanceof StackerError);
  assert.equal(err.code, "helper.missing");
  assert.equal(
    err.message,
    'Cannot find helper "skopeo": it is not on PATH and this stacker-ts has no embedded copy ' +
      '(install the Debian package "skopeo")',
  );
});

Deno.test("helperStatus() reports where each helper comes from without writing anything", async () => {
  await using s = await sandbox();
  await Deno.copyFile(HOST_BUSYBOX, `${s.dir}/path/busybox`);
  await Deno.copyFile("/usr/bin/umoci", `${s.embeddedDir}/umoci`);
  const opts = { log: silentLogger, env: s.env, embeddedDir: s.embeddedDir };
  const got = await Promise.all(helperNames().map((n) => helperStatus(n, opts)));
  assert.deepEqual(got.map((h) => [h.name, h.origin, h.package]), [
    ["busybox", "host", "busybox-static"],
    ["skopeo", "missing", "skopeo"],
    ["umoci", "embedded", "umoci"],
  ]);
  await assert.rejects(Deno.stat(`${s.dir}/cache`), Deno.errors.NotFound);
});

Deno.test({
  name: "findHelper() run by the unprivileged user skips unsearchable PATH dirs and caches under ~/.cache",
  ignore: Deno.uid() !== 0,
  fn: async () => {
    const src = sourceRootForTestUser();
    const ids = await testUserIds();
    const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "helpers-user-" });
    try {
      await Deno.mkdir(`${dir}/home`);
      await Deno.mkdir(`${dir}/embedded`);
      // a PATH entry the user may not search (like root's /root/.cargo/bin kept by sudo -E)
      await Deno.mkdir(`${dir}/locked`, { mode: 0o700 });
      await Deno.copyFile(HOST_BUSYBOX, `${dir}/embedded/busybox`);
      await Deno.chown(`${dir}/home`, ids.uid, ids.gid);
      await Deno.chmod(dir, 0o755);
      await Deno.writeTextFile(
        `${dir}/probe.ts`,
        `import { findHelper } from "${src}/lib/util/helpers.ts";\n` +
          `import { silentLogger } from "${src}/lib/util/log.ts";\n` +
          `const p = await findHelper("busybox", { log: silentLogger, env: Deno.env.toObject(), ` +
          `embeddedDir: "${dir}/embedded" });\n` +
          `const st = await Deno.stat(p);\n` +
          `Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify({ p, uid: st.uid })));\n`,
      );
      const r = await runAsTestUser(
        [
          Deno.execPath(),
          "run",
          "--cached-only",
          "--allow-read",
          "--allow-write",
          "--allow-env",
          `${dir}/probe.ts`,
        ],
        { env: { HOME: `${dir}/home`, PATH: `${dir}/locked:/nonexistent` } },
      );
      assert.equal(r.code, 0, r.stderr);
      const got = JSON.parse(r.stdout) as { p: string; uid: number };
      assert.equal(got.p, `${dir}/home/.cache/stacker-ts/helpers/${BUSYBOX.sha256}/busybox`);
      assert.equal(got.uid, ids.uid);
      assert.equal(await run(got.p, "true"), 0);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
