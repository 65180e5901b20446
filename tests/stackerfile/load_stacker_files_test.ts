import assert from "node:assert/strict";
import { memoryLogger } from "../../lib/util/log.ts";
import { buildOrderLines, loadStackerFiles, orderOnly } from "../../lib/stackerfile/load_stacker_files.ts";
import { stackerfileError } from "./_catch.ts";

/** A temp dir with the given files (relative path → text); removed on dispose. */
async function tree(files: Record<string, string>): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "stackerfile-" });
  for (const [rel, text] of Object.entries(files)) {
    await Deno.mkdir(`${dir}/${rel}`.replace(/\/[^/]*$/, ""), { recursive: true });
    await Deno.writeTextFile(`${dir}/${rel}`, text);
  }
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

const scratch = (name: string, extra = "") => `${name}:\n  from: {type: scratch}\n${extra}`;
const built = (name: string, tag: string) => `${name}:\n  from: {type: built, tag: ${tag}}\n`;
const prereqs = (...p: string[]) => `config:\n  prerequisites: [${p.join(", ")}]\n`;

Deno.test("loadStackerFiles() orders layers of a file by built bases and stacker:// sources", async () => {
  await using t = await tree({
    "stacker.yaml": [
      built("d", "c"),
      scratch("e", "  imports: [stacker://b/x]\n"),
      built("c", "a"),
      "t:\n  from: {type: tar, url: stacker://e/out.tar}\n",
      scratch("a"),
      scratch("b"),
    ].join(""),
  });
  const plan = await loadStackerFiles(["stacker.yaml"], { cwd: t.dir });
  // Pass 1 over the file order emits a and b; pass 2 emits e, c, then t (e is out by then); pass 3 d.
  assert.deepEqual(plan.layers.map((l) => l.name), ["a", "b", "e", "c", "t", "d"]);
  assert.deepEqual(plan.files.map((f) => f.path), [`${t.dir}/stacker.yaml`]);
});

Deno.test("loadStackerFiles() orders prerequisite chains and diamonds, prerequisites first", async () => {
  await using t = await tree({
    "top/stacker.yaml": prereqs("../left/stacker.yaml", "../right/stacker.yaml") + built("top", "l"),
    "left/stacker.yaml": prereqs("../base/stacker.yaml") + built("l", "base"),
    "right/stacker.yaml": prereqs("../base/stacker.yaml") + built("r", "base"),
    "base/stacker.yaml": scratch("base"),
    "solo/stacker.yaml": scratch("solo"),
  });
  const plan = await loadStackerFiles(["top/stacker.yaml", "solo/stacker.yaml"], { cwd: t.dir });
  const rel = plan.files.map((f) => f.path.slice(t.dir.length + 1));
  // Depth first from the files sorted by path: solo sorts before top.
  assert.deepEqual(rel, [
    "base/stacker.yaml",
    "left/stacker.yaml",
    "right/stacker.yaml",
    "solo/stacker.yaml",
    "top/stacker.yaml",
  ]);
  assert.deepEqual(plan.layers.map((l) => l.name), ["base", "l", "r", "solo", "top"]);
  assert.deepEqual(buildOrderLines(plan), [
    `0 build ${t.dir}/base/stacker.yaml: requires: []`,
    `1 build ${t.dir}/left/stacker.yaml: requires: [${t.dir}/base/stacker.yaml]`,
    `2 build ${t.dir}/right/stacker.yaml: requires: [${t.dir}/base/stacker.yaml]`,
    `3 build ${t.dir}/solo/stacker.yaml: requires: []`,
    `4 build ${t.dir}/top/stacker.yaml: requires: [${t.dir}/left/stacker.yaml ${t.dir}/right/stacker.yaml]`,
  ]);
  const { log, lines } = memoryLogger();
  assert.deepEqual(await orderOnly(["top/stacker.yaml"], { cwd: t.dir, log }), [
    ...buildOrderLines(plan).slice(0, 3),
    `3 build ${t.dir}/top/stacker.yaml: requires: [${t.dir}/left/stacker.yaml ${t.dir}/right/stacker.yaml]`,
  ]);
  assert.ok(lines.some((l) => l.includes("3 build ")), lines.join("\n"));
});

Deno.test("loadStackerFiles() rejects a prerequisite cycle naming the files", async () => {
  await using t = await tree({
    "a.yaml": prereqs("b.yaml") + scratch("a"),
    "b.yaml": prereqs("c.yaml") + scratch("b"),
    "c.yaml": prereqs("a.yaml") + scratch("c"),
  });
  const err = await stackerfileError(() => loadStackerFiles(["a.yaml"], { cwd: t.dir }));
  assert.equal(err.code, "stackerfile.prerequisite-cycle");
  assert.match(err.message, /a\.yaml" -> ".*b\.yaml" -> ".*c\.yaml" -> ".*a\.yaml"/);
});

Deno.test("loadStackerFiles() rejects a missing prerequisite naming who needs it", async () => {
  await using t = await tree({ "a.yaml": prereqs("nope.yaml") + scratch("a") });
  const err = await stackerfileError(() => loadStackerFiles(["a.yaml"], { cwd: t.dir }));
  assert.equal(err.code, "stackerfile.not-found");
  assert.match(err.message, /nope\.yaml": no such file \(a prerequisite of ".*a\.yaml"\)/);
});

Deno.test("loadStackerFiles() rejects a layer name defined in two files, naming both", async () => {
  await using t = await tree({ "a.yaml": prereqs("b.yaml") + scratch("x"), "b.yaml": scratch("x") });
  const err = await stackerfileError(() => loadStackerFiles(["a.yaml"], { cwd: t.dir }));
  assert.equal(err.code, "stackerfile.duplicate-layer");
  assert.equal(
    err.message,
    `Cannot load stacker files: duplicate layer name: both ${t.dir}/a.yaml and ${t.dir}/b.yaml have x`,
  );
});

Deno.test("loadStackerFiles() reports every unresolved reference at once (missing and cycles)", async () => {
  await using t = await tree({
    "stacker.yaml": [
      scratch("ok"),
      built("m1", "notatag"),
      scratch("m2", "  imports:\n    - stacker://gone/f\n    - stacker://ok/f\n"),
      built("c1", "c2"),
      built("c2", "c1"),
    ].join(""),
  });
  const { log, lines } = memoryLogger();
  const err = await stackerfileError(() => loadStackerFiles(["stacker.yaml"], { cwd: t.dir, log }));
  assert.equal(err.code, "stackerfile.unresolved-dependencies");
  assert.equal(err.context.count, 4);
  assert.match(err.message, /couldn't resolve some dependencies/);
  assert.match(err.message, /:3:1: couldn't find dependencies for m1: base layer notatag/);
  assert.match(err.message, /:5:1: couldn't find dependencies for m2: stacker:\/\/gone\/f\n/);
  assert.match(err.message, /couldn't find dependencies for c1: base layer c2/);
  assert.match(err.message, /couldn't find dependencies for c2: base layer c1/);
  assert.ok(lines.some((l) => l.includes("couldn't find dependencies for m1")));
});

Deno.test("loadStackerFiles() lets a layer use layers of its transitive prerequisites only", async () => {
  await using t = await tree({
    "a.yaml": prereqs("b.yaml") + built("a", "c"),
    "b.yaml": prereqs("c.yaml") + scratch("b"),
    "c.yaml": scratch("c"),
    "other.yaml": built("o", "c"),
  });
  const plan = await loadStackerFiles(["a.yaml"], { cwd: t.dir });
  assert.deepEqual(plan.layers.map((l) => l.name), ["c", "b", "a"]);
  const err = await stackerfileError(() => loadStackerFiles(["a.yaml", "other.yaml"], { cwd: t.dir }));
  assert.match(err.message, /couldn't find dependencies for o: base layer c/);
});

Deno.test("loadStackerFiles() substitutes from flags, a substitute file and the built-ins in every file", async () => {
  await using t = await tree({
    "subs.yaml": "TAG: from-file\nOTHER: file-only\n",
    "a.yaml": prereqs("b.yaml") + "a:\n  from: {type: oci, url: '${{STACKER_OCI_DIR}}:${{TAG}}'}\n",
    "b.yaml": "b:\n  from: {type: docker, url: 'docker://x:${{OTHER}}-${{WD}}'}\n",
  });
  const plan = await loadStackerFiles(["a.yaml"], {
    cwd: t.dir,
    substitute: ["TAG=cli", "WD=${{X}}"],
    substituteFile: `${t.dir}/subs.yaml`,
    dirs: { ociDir: "/o" },
  });
  assert.deepEqual(plan.layers.map((l) => l.from.url), ["docker://x:file-only-${{X}}", "/o:cli"]);
});

Deno.test("loadStackerFiles() applies --require-hash to prerequisites too", async () => {
  await using t = await tree({
    "a.yaml": prereqs("b.yaml") + scratch("a"),
    "b.yaml": scratch("b", "  imports: [https://example.invalid/f]\n"),
  });
  await loadStackerFiles(["a.yaml"], { cwd: t.dir });
  const err = await stackerfileError(() => loadStackerFiles(["a.yaml"], { cwd: t.dir, requireHash: true }));
  assert.equal(err.code, "stackerfile.hash-required");
  assert.equal(err.context.file, `${t.dir}/b.yaml`);
});

Deno.test("loadStackerFiles() loads stacker files and prerequisites by http URL", async () => {
  await using t = await tree({ "local.yaml": scratch("loc") });
  const files: Record<string, string> = {
    "/top.yaml": prereqs("http://HOST/base.yaml", `${t.dir}/local.yaml`) + built("top", "base") +
      "  imports: [rel.txt]\n",
    "/base.yaml": scratch("base"),
  };
  await using server: Deno.HttpServer<Deno.NetAddr> = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
  }, (req): Response => {
    const body = files[new URL(req.url).pathname];
    return body === undefined
      ? new Response("nope", { status: 404 })
      : new Response(body.replaceAll("HOST", `127.0.0.1:${server.addr.port}`));
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const plan = await loadStackerFiles([`${base}/top.yaml`], { cwd: t.dir });
  assert.deepEqual(plan.files.map((f) => f.path), [
    `${t.dir}/local.yaml`,
    `${base}/base.yaml`,
    `${base}/top.yaml`,
  ]);
  assert.deepEqual(plan.layers.map((l) => l.name), ["loc", "base", "top"]);
  assert.equal(plan.layers[2].imports![0].path, `${t.dir}/rel.txt`, "relative to the CWD for a URL file");
  const err = await stackerfileError(() => loadStackerFiles([`${base}/missing.yaml`], { cwd: t.dir }));
  assert.equal(err.code, "stackerfile.fetch");
  assert.match(err.message, /HTTP 404/);
});

Deno.test("loadStackerFiles() reads nothing more after a parse error and names the file", async () => {
  await using t = await tree({
    "a.yaml": prereqs("b.yaml") + scratch("a"),
    "b.yaml": "b:\n  from: {type: nope}\n",
  });
  const err = await stackerfileError(() => loadStackerFiles(["a.yaml"], { cwd: t.dir }));
  assert.equal(err.context.file, `${t.dir}/b.yaml`);
  assert.match(err.message, /b\.yaml:2:16: expected one of/);
});
