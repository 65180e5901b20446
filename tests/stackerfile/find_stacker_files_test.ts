import assert from "node:assert/strict";
import { findStackerFiles } from "../../lib/stackerfile/find_stacker_files.ts";
import { stackerfileError } from "./_catch.ts";

Deno.test("findStackerFiles() finds stacker.yaml files by full-path regex without following symlinks", async () => {
  const dir = await Deno.makeTempDir({ prefix: "find-stacker-" });
  const outside = await Deno.makeTempDir({ prefix: "find-stacker-outside-" });
  try {
    for (const d of ["a", "a/deep/er", "b", "c"]) await Deno.mkdir(`${dir}/${d}`, { recursive: true });
    const files = [
      "stacker.yaml",
      "a/stacker.yaml",
      "a/deep/er/stacker.yaml",
      "b/.stacker.yaml.swp",
      "b/test_stacker.yaml",
      "c/stacker.yml",
    ];
    for (const f of files) await Deno.writeTextFile(`${dir}/${f}`, "x:\n  from: {type: scratch}\n");
    await Deno.writeTextFile(`${outside}/stacker.yaml`, "");
    await Deno.symlink(outside, `${dir}/linkdir`);
    await Deno.symlink(`${dir}/a/stacker.yaml`, `${dir}/c/stacker.yaml`);

    assert.deepEqual(await findStackerFiles(dir), [
      `${dir}/a/deep/er/stacker.yaml`,
      `${dir}/a/stacker.yaml`,
      `${dir}/stacker.yaml`,
    ]);
    assert.deepEqual(await findStackerFiles(dir, "stacker\\.ya?ml$"), [
      `${dir}/a/deep/er/stacker.yaml`,
      `${dir}/a/stacker.yaml`,
      `${dir}/b/test_stacker.yaml`,
      `${dir}/c/stacker.yml`,
      `${dir}/stacker.yaml`,
    ]);
    assert.deepEqual(await findStackerFiles(`${dir}/a`, /deep/), [`${dir}/a/deep/er/stacker.yaml`]);

    const notDir = await stackerfileError(() => findStackerFiles(`${dir}/stacker.yaml`));
    assert.equal(notDir.code, "stackerfile.bad-search-dir");
    const missing = await stackerfileError(() => findStackerFiles(`${dir}/nope`));
    assert.equal(missing.code, "stackerfile.bad-search-dir");
    const badRe = await stackerfileError(() => findStackerFiles(dir, "("));
    assert.equal(badRe.code, "stackerfile.bad-pattern");
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});
