/**
 * scripts/fetch-helpers.ts: every file vendor/manifest.json lists ends up in vendor/bin and matches
 * its hash (checked with sha256sum, not with our own hashing), and a damaged file is noticed and
 * replaced.
 */
import assert from "node:assert/strict";
import { fetchHelpers, verifyHelpers } from "../../scripts/fetch-helpers.ts";
import { HELPER_MANIFEST, isStaticElf } from "../../lib/util/helpers.ts";

const root = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const arch = Deno.build.arch;

async function sha256sum(path: string): Promise<string> {
  const r = await new Deno.Command("sha256sum", { args: [path], stdout: "piped" }).output();
  assert.ok(r.success);
  return new TextDecoder().decode(r.stdout).split(" ")[0];
}

Deno.test("after fetch-helpers, every file vendor/manifest.json lists matches its sha256", async () => {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--cached-only", `${root}/scripts/fetch-helpers.ts`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  for (const [name, entry] of Object.entries(HELPER_MANIFEST.helpers)) {
    const path = `${root}/vendor/bin/${arch}/${name}`;
    assert.equal(await sha256sum(path), entry.arches[arch].sha256, path);
    assert.ok(((await Deno.stat(path)).mode ?? 0) & 0o100, `${path} is executable`);
  }
  assert.deepEqual(await verifyHelpers(`${root}/vendor/bin`, arch), []);
});

Deno.test("fetchHelpers() notices a damaged or missing helper and puts the right one back", async () => {
  const out = await Deno.makeTempDir({ prefix: "fetch-helpers-test-" });
  try {
    const first = await fetchHelpers({ out, names: ["busybox", "umoci"] });
    assert.deepEqual(first.map((h) => h.name), ["busybox", "umoci"]);
    assert.ok(first.every((h) => h.via === "apt" || h.via === "host"));
    const problems = await verifyHelpers(out, arch);
    assert.deepEqual(problems.map((p) => p.split(":")[0]), ["skopeo"], problems.join("\n"));
    assert.match(problems[0], /is missing/);

    await Deno.writeTextFile(`${out}/${arch}/umoci`, "tampered");
    const [bad] = await verifyHelpers(out, arch).then((p) => p.filter((l) => l.startsWith("umoci")));
    assert.match(bad, /^umoci: ".*" has sha256 "[0-9a-f]{64}", manifest says "[0-9a-f]{64}"$/);

    const second = await fetchHelpers({ out, names: ["busybox", "umoci"] });
    assert.deepEqual(second.map((h) => [h.name, h.via === "kept"]), [["busybox", true], ["umoci", false]]);
    assert.equal(await sha256sum(`${out}/${arch}/umoci`), HELPER_MANIFEST.helpers.umoci.arches[arch].sha256);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("fetchHelpers() fetches the aarch64 helpers without touching the host's apt state", async () => {
  const out = await Deno.makeTempDir({ prefix: "fetch-helpers-test-" });
  const foreign = () =>
    new Deno.Command("dpkg", { args: ["--print-foreign-architectures"], stdout: "piped" }).output();
  try {
    const before = new TextDecoder().decode((await foreign()).stdout);
    const [bb] = await fetchHelpers({ out, arch: "aarch64", names: ["busybox"] });
    assert.equal(bb.via, "apt");
    assert.equal(await sha256sum(bb.path), HELPER_MANIFEST.helpers.busybox.arches.aarch64.sha256);
    // ELF e_machine 183 is EM_AARCH64; busybox must stay static to serve as the idle init.
    const head = (await Deno.readFile(bb.path)).subarray(0, 20);
    assert.equal(new DataView(head.buffer).getUint16(18, true), 183);
    assert.equal(await isStaticElf(bb.path), true);
    assert.equal(new TextDecoder().decode((await foreign()).stdout), before);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});

Deno.test("fetchHelpers() refuses an architecture the manifest has no entry for", async () => {
  const out = await Deno.makeTempDir({ prefix: "fetch-helpers-test-" });
  try {
    await assert.rejects(fetchHelpers({ out, arch: "riscv64", names: ["umoci"] }), /no entry for "riscv64"/);
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
