/**
 * scripts/dist.ts and the dist file's stub: one extraction into the cache dir named by the payload's
 * sha256, reuse, detection and repair of a damaged or partial extraction, concurrent first runs,
 * a damaged file refused, `--version` naming what is embedded; as root and as the test user.
 * The dist file is built once per source tree (scripts/fixtures/dist.ts).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { distFile, runAsTestUser, testUserIds } from "../../scripts/fixtures/mod.ts";
import { checkDistFile, distFileName } from "../../scripts/dist.ts";
import { stubScript } from "../../scripts/dist/_stub.ts";

const dec = new TextDecoder();
const root = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const isRoot = Deno.uid() === 0;

async function runDist(file: string, args: string[], cache: string) {
  const r = await new Deno.Command(file, {
    args,
    env: { PATH: "/usr/bin:/bin", HOME: "/nonexistent", XDG_CACHE_HOME: cache },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

/** The payload's sha256, from the stub's OFF= line. */
async function payloadSha256(file: string): Promise<string> {
  const bytes = await Deno.readFile(file);
  const head = dec.decode(bytes.subarray(0, 4096));
  const off = Number(head.match(/^OFF=(\d+)$/m)![1]);
  return createHash("sha256").update(bytes.subarray(off - 1)).digest("hex");
}

async function sums(dir: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  for (const l of (await Deno.readTextFile(`${dir}/SHA256SUMS`)).trim().split("\n")) {
    m.set(l.slice(66), l.slice(0, 64));
  }
  return m;
}

async function names(dir: string): Promise<string[]> {
  return (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name);
}

async function sha(path: string): Promise<string> {
  return createHash("sha256").update(await Deno.readFile(path)).digest("hex");
}

const VERSION_RE =
  /^stacker \S+ liblxc 5\.\S+ \(dist linux-x86_64: deno \S+, liblxc \S+, busybox \S+, skopeo \S+, umoci \S+\)$/m;

Deno.test({
  name: "dist: the first run extracts into <cache>/stacker-ts/<payload sha256>, later runs reuse it",
  ignore: !isRoot,
  fn: async () => {
    const file = await distFile();
    assert.match(file, new RegExp(`/${distFileName("x86_64")}$`));
    const cache = await Deno.makeTempDir({ prefix: "dist-cache-" });
    try {
      const first = await runDist(file, ["--version"], cache);
      assert.equal(first.code, 0, first.stderr);
      assert.match(first.stdout, VERSION_RE);
      const dir = `${cache}/stacker-ts/${await payloadSha256(file)}`;
      const listed = await sums(dir);
      for (const p of ["bin/deno", "bin/busybox", "bin/skopeo", "bin/umoci", "bin/lxc-usernsexec"]) {
        assert.equal(await sha(`${dir}/${p}`), listed.get(p), p);
      }
      assert.ok(listed.has("lib/liblxc.so.1") && listed.has("app/cli.ts") && listed.has("app/dist.json"));
      const ino = (await Deno.stat(`${dir}/bin/deno`)).ino;
      const again = await runDist(file, ["version"], cache);
      assert.equal(again.code, 0, again.stderr);
      assert.equal((await Deno.stat(`${dir}/bin/deno`)).ino, ino, "not extracted again");
      assert.deepEqual(await names(`${cache}/stacker-ts`), [
        await payloadSha256(file),
      ]);
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  },
});

Deno.test({
  name: "dist: a damaged, missing or partial extracted file is detected and the extraction redone",
  ignore: !isRoot,
  fn: async () => {
    const file = await distFile();
    const cache = await Deno.makeTempDir({ prefix: "dist-cache-" });
    try {
      assert.equal((await runDist(file, ["--version"], cache)).code, 0);
      const dir = `${cache}/stacker-ts/${await payloadSha256(file)}`;
      const listed = await sums(dir);
      const damage: [string, () => Promise<void>][] = [
        ["same-size overwrite of liblxc", async () => {
          const f = await Deno.open(`${dir}/lib/liblxc.so.1`, { write: true });
          await f.write(new Uint8Array(64));
          f.close();
        }],
        ["truncated deno", () => Deno.truncate(`${dir}/bin/deno`, 4096)],
        ["missing cli.ts", () => Deno.remove(`${dir}/app/cli.ts`)],
        ["partial dir without fingerprint", async () => {
          await Deno.remove(`${dir}/.fingerprint`);
          await Deno.remove(`${dir}/bin`, { recursive: true });
        }],
      ];
      for (const [what, act] of damage) {
        await act();
        const r = await runDist(file, ["--version"], cache);
        assert.equal(r.code, 0, `${what}: ${r.stderr}`);
        assert.match(r.stdout, VERSION_RE, what);
        for (const [p, h] of listed) assert.equal(await sha(`${dir}/${p}`), h, `${what}: ${p}`);
      }
      const left = await names(`${cache}/stacker-ts`);
      assert.deepEqual(left, [await payloadSha256(file)], "no temp or stale dirs left");
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  },
});

Deno.test({
  name: "dist: two first runs at once both work and leave one extraction",
  ignore: !isRoot,
  fn: async () => {
    const file = await distFile();
    const cache = await Deno.makeTempDir({ prefix: "dist-cache-" });
    try {
      const [a, b] = await Promise.all([
        runDist(file, ["--version"], cache),
        runDist(file, ["--version"], cache),
      ]);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(b.code, 0, b.stderr);
      assert.deepEqual(await names(`${cache}/stacker-ts`), [
        await payloadSha256(file),
      ]);
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  },
});

Deno.test({
  name: "dist: a damaged dist file is refused with a clear message and leaves nothing behind",
  ignore: !isRoot,
  fn: async () => {
    const file = await distFile();
    const dir = await Deno.makeTempDir({ prefix: "dist-bad-" });
    try {
      const bytes = await Deno.readFile(file);
      bytes[Math.floor(bytes.length / 2)] ^= 0xff;
      await Deno.writeFile(`${dir}/stacker`, bytes, { mode: 0o755 });
      const r = await runDist(`${dir}/stacker`, ["--version"], `${dir}/cache`);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /^stacker-ts: \S+\/stacker is damaged: its payload does not match its checksums/m,
      );
      assert.deepEqual(await names(`${dir}/cache/stacker-ts`), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "dist: the test user runs it from its own cache dir",
  ignore: !isRoot,
  fn: async () => {
    const file = await distFile();
    const ids = await testUserIds();
    const cache = await Deno.makeTempDir({ prefix: "dist-user-" });
    try {
      await Deno.chown(cache, ids.uid, ids.gid);
      const r = await runAsTestUser([file, "--version"], { env: { XDG_CACHE_HOME: cache } });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, VERSION_RE);
      const st = await Deno.stat(`${cache}/stacker-ts/${await payloadSha256(file)}/bin/deno`);
      assert.equal(st.uid, ids.uid);
    } finally {
      await Deno.remove(cache, { recursive: true });
    }
  },
});

Deno.test({
  name: "dist: checkDistFile refuses a payload with another architecture's binary",
  ignore: !isRoot,
  fn: async () => {
    await checkDistFile(await distFile(), "x86_64");
    await assert.rejects(checkDistFile(await distFile(), "aarch64"), /is for x86_64, not aarch64/);
  },
});

Deno.test("dist stub: the offset it carries is where the payload starts", () => {
  const stub = stubScript({
    version: "1.2.3",
    arch: "x86_64",
    payloadSha256: "a".repeat(64),
    sumsSha256: "b".repeat(64),
    denoFlags: ["--allow-read=/it's"],
  });
  const off = Number(stub.match(/^OFF=(\d+)$/m)![1]);
  assert.equal(off, new TextEncoder().encode(stub).length + 1);
  assert.match(stub, /'--allow-read=\/it'\\''s'/);
  assert.ok(stub.startsWith("#!/bin/sh\n"));
});

Deno.test({
  name:
    "dist: with DENORT_BIN set, the task goes through deno compile with that runtime (a stub fails clearly)",
  ignore: !isRoot,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "dist-denort-" });
    try {
      await Deno.writeTextFile(`${dir}/denort`, "#!/bin/sh\necho 'stub denort' >&2\nexit 42\n", {
        mode: 0o755,
      });
      const r = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--cached-only",
          `${root}/scripts/dist.ts`,
          "--arch",
          "x86_64",
          "--out",
          `${dir}/out`,
        ],
        env: { DENORT_BIN: `${dir}/denort`, NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = dec.decode(r.stderr);
      assert.match(
        stderr,
        new RegExp(`^dist x86_64: denort from DENORT_BIN \\(${dir}/denort\\): deno compile$`, "m"),
      );
      assert.ok(!stderr.includes("self-extracting"), stderr);
      // deno compile writes its payload into the runtime's ELF sections: a shell script is refused.
      assert.equal(r.code, 1);
      assert.match(
        stderr,
        new RegExp(`deno compile with the denort from DENORT_BIN \\(${dir}/denort\\) failed`),
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "dist --arch aarch64: built from Debian's arm64 packages and npm's arm64 Deno, payload verified (not run)",
  ignore: !isRoot,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "dist-arm64-" });
    try {
      const r = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          "--cached-only",
          `${root}/scripts/dist.ts`,
          "--arch",
          "aarch64",
          "--self-extracting",
        ]
          .concat(["--out", dir]),
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = dec.decode(r.stderr);
      assert.equal(r.code, 0, stderr);
      assert.match(
        stderr,
        /^dist aarch64: payload verified: every file matches SHA256SUMS and every ELF file is for aarch64$/m,
      );
      const file = `${dir}/${distFileName("aarch64")}`;
      assert.ok((await Deno.stat(file)).size <= 60e6, "at most 60 MB");
      // Checked again here, independently of the script's own check.
      await checkDistFile(file, "aarch64");
      await assert.rejects(checkDistFile(file, "x86_64"), /is for aarch64, not x86_64/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
