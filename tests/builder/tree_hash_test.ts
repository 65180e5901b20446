import assert from "node:assert/strict";
import {
  entryHash,
  fileDigest,
  pathHash,
  treeHash,
  treeHashAndEntries,
  treeManifest,
} from "../../lib/builder/tree_hash.ts";

Deno.test("treeHash() follows content, modes, types and links, not mtimes", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/t/sub`, { recursive: true });
    await Deno.writeTextFile(`${dir}/t/a`, "hello");
    await Deno.writeTextFile(`${dir}/t/sub/b`, "b");
    await Deno.symlink("missing-target", `${dir}/t/broken`);
    const h0 = await treeHash(`${dir}/t`);
    assert.match(h0, /^sha256:[0-9a-f]{64}$/);
    assert.equal((await treeManifest(`${dir}/t`)).length, 4);
    await Deno.utime(`${dir}/t/a`, 1, 1);
    assert.equal(await treeHash(`${dir}/t`), h0, "mtime ignored");
    await Deno.chmod(`${dir}/t/a`, 0o600);
    const h1 = await treeHash(`${dir}/t`);
    assert.notEqual(h1, h0, "mode counts");
    await Deno.writeTextFile(`${dir}/t/sub/b`, "c");
    const h2 = await treeHash(`${dir}/t`);
    assert.notEqual(h2, h1, "content counts");
    await Deno.remove(`${dir}/t/broken`);
    await Deno.symlink("other", `${dir}/t/broken`);
    assert.notEqual(await treeHash(`${dir}/t`), h2, "link target counts");
    assert.deepEqual((await pathHash(`${dir}/t`)).kind, "dir");
    assert.deepEqual(await pathHash(`${dir}/t/a`), { kind: "file", hash: await entryHash(`${dir}/t/a`) });
    assert.equal(
      await fileDigest(`${dir}/t/a`),
      "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("treeHashAndEntries() gives treeHash() and one entry per path that changes only with that path", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/sub`);
    await Deno.writeTextFile(`${dir}/sub/a`, "a");
    await Deno.writeTextFile(`${dir}/b`, "b");
    const one = await treeHashAndEntries(dir);
    assert.equal(one.hash, await treeHash(dir));
    assert.deepEqual(Object.keys(one.entries).sort(), ["b", "sub", "sub/a"]);
    await Deno.writeTextFile(`${dir}/sub/a`, "changed");
    const two = await treeHashAndEntries(dir);
    assert.notEqual(two.hash, one.hash);
    assert.deepEqual(
      Object.keys(one.entries).filter((p) => one.entries[p] !== two.entries[p]),
      ["sub/a"],
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
