/**
 * scripts/compile.ts: everything up to the point where denort is needed, the one clear message
 * when it is missing, how denort is found, and that a DENORT_BIN run reaches `deno compile`.
 */
import assert from "node:assert/strict";
import { denoDir, EXIT_MISSING_DENORT, findDenort, TARGETS } from "../../scripts/compile.ts";
import { HELPER_MANIFEST } from "../../lib/util/helpers.ts";

const root = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const dec = new TextDecoder();

async function compile(args: string[], env: Record<string, string>) {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--cached-only", `${root}/scripts/compile.ts`, ...args],
    cwd: root,
    env,
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: r.code, stdout: dec.decode(r.stdout), stderr: dec.decode(r.stderr) };
}

function baseEnv(): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1" };
  for (const k of ["PATH", "HOME", "DENO_DIR"]) {
    const v = Deno.env.get(k);
    if (v !== undefined) env[k] = v;
  }
  return env;
}

const cachedDenort = await findDenort(TARGETS[Deno.build.arch], { ...baseEnv(), DENORT_BIN: "" });

Deno.test({
  name: "compile stops with one message naming DENORT_BIN after deno check and the helper check",
  ignore: cachedDenort !== undefined,
  fn: async () => {
    const r = await compile([], baseEnv());
    assert.equal(r.code, EXIT_MISSING_DENORT, r.stderr);
    assert.equal(EXIT_MISSING_DENORT, 3);
    const lines = r.stderr.split("\n");
    const check = lines.findIndex((l) => l === "compile: deno check cli.ts");
    const helpers = lines.findIndex((l) =>
      /^compile: helpers for \S+ verified against vendor\/manifest.json$/.test(l)
    );
    const missing = lines.filter((l) => l.includes("missing denort"));
    assert.ok(check >= 0 && helpers > check, r.stderr);
    assert.equal(missing.length, 1, r.stderr);
    assert.ok(lines.indexOf(missing[0]) > helpers);
    assert.match(missing[0], /^compile: missing denort: set DENORT_BIN to a denort \S+ binary for \S+/);
    assert.ok(!r.stderr.includes("Stack backtrace"), "deno compile itself was not started");
  },
});

Deno.test({
  name: "compile --arch aarch64 fetches and verifies the aarch64 helpers, then asks for that denort",
  ignore: await findDenort(TARGETS.aarch64, { ...baseEnv(), DENORT_BIN: "" }) !== undefined,
  fn: async () => {
    const r = await compile(["--arch", "aarch64"], baseEnv());
    assert.equal(r.code, EXIT_MISSING_DENORT, r.stderr);
    assert.match(r.stderr, /^compile: helpers for aarch64 verified against vendor\/manifest.json$/m);
    assert.match(r.stderr, /^compile: missing denort: .* for aarch64-unknown-linux-gnu, /m);
  },
});

Deno.test("compile refuses an unknown architecture with a usage line (exit 2)", async () => {
  const r = await compile(["--arch", "sparc64"], baseEnv());
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^usage: deno task compile /);
});

Deno.test("findDenort() takes DENORT_BIN, else the zip deno compile would have cached", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denort-test-" });
  try {
    const target = "x86_64-unknown-linux-gnu";
    assert.equal(await findDenort(target, { DENO_DIR: dir }, "9.9.9"), undefined);
    await Deno.writeTextFile(`${dir}/denort`, "x");
    assert.deepEqual(await findDenort(target, { DENO_DIR: dir, DENORT_BIN: `${dir}/denort` }, "9.9.9"), {
      via: "DENORT_BIN",
      path: `${dir}/denort`,
    });
    // A DENORT_BIN naming nothing does not count.
    assert.equal(await findDenort(target, { DENO_DIR: dir, DENORT_BIN: `${dir}/nope` }, "9.9.9"), undefined);
    const zip = `${dir}/dl/release/v9.9.9/denort-${target}.zip`;
    await Deno.mkdir(`${dir}/dl/release/v9.9.9`, { recursive: true });
    await Deno.writeTextFile(zip, "x");
    assert.deepEqual(await findDenort(target, { DENO_DIR: dir }, "9.9.9"), { via: "cache", path: zip });
    assert.equal(await findDenort("aarch64-unknown-linux-gnu", { DENO_DIR: dir }, "9.9.9"), undefined);
    assert.equal(denoDir({ XDG_CACHE_HOME: "/c" }), "/c/deno");
    assert.equal(denoDir({ HOME: "/h" }), "/h/.cache/deno");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("with DENORT_BIN set, compile runs deno compile and embeds the helpers", async () => {
  // Any runtime binary shows the wiring; the deno CLI stands in for denort (it cannot be downloaded
  // here), so the output is not a working stacker: only its size tells that vendor/bin went in.
  const dir = await Deno.makeTempDir({ prefix: "compile-test-" });
  try {
    const out = `${dir}/stacker-ts`;
    const r = await compile(["--output", out], { ...baseEnv(), DENORT_BIN: Deno.execPath() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /^compile: using denort from DENORT_BIN /m);
    assert.match(r.stderr, new RegExp(`^compile: wrote ${out}$`, "m"));
    let helpers = 0;
    for (const name of Object.keys(HELPER_MANIFEST.helpers)) {
      helpers += (await Deno.stat(`${root}/vendor/bin/${Deno.build.arch}/${name}`)).size;
    }
    const size = (await Deno.stat(out)).size;
    assert.ok(size > (await Deno.stat(Deno.execPath())).size + helpers, `${size}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
