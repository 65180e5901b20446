import assert from "node:assert/strict";
import * as node from "node:path";
import { basename, dirname, join, normalize, resolve } from "../../lib/util/path.ts";

const CASES = [
  "",
  ".",
  "/",
  "//",
  "a",
  "/a",
  "a/",
  "/a/b/",
  "a//b",
  "./a",
  "a/./b",
  "a/../b",
  "../a",
  "/../a",
  "a/b/../../..",
  "/a/b/../../..",
  "a/..",
  "/x/./y/../z//",
];

Deno.test("normalize/dirname/basename agree with node:path (posix)", () => {
  for (const p of CASES) {
    assert.equal(
      normalize(p),
      node.posix.normalize(p).replace(/(.)\/$/, "$1"),
      `normalize(${JSON.stringify(p)})`,
    );
    if (p === "") continue;
    assert.equal(dirname(p), node.posix.dirname(node.posix.normalize(p)), `dirname(${JSON.stringify(p)})`);
    assert.equal(basename(p), node.posix.basename(node.posix.normalize(p)), `basename(${JSON.stringify(p)})`);
  }
});

Deno.test("join/resolve agree with node:path (posix)", () => {
  const pairs: string[][] = [["a", "b"], ["/a", "../b"], ["/a", "/b"], ["a", ""], ["", ""], [
    "/a/b",
    "c/../d",
    "e",
  ], [".", "x"]];
  for (const parts of pairs) {
    assert.equal(join(...parts), node.posix.join(...parts), `join(${JSON.stringify(parts)})`);
    assert.equal(resolve(...parts), node.posix.resolve(...parts), `resolve(${JSON.stringify(parts)})`);
  }
  assert.equal(resolve(), Deno.cwd());
});
