import assert from "node:assert/strict";
import { type CopyContext, copyImports, relativePath } from "../../lib/convert/_copy.ts";
import { lexWord, type VarLookup } from "../../lib/convert/_words.ts";
import type { DockerFlag } from "../../lib/convert/dockerfile.ts";
import { StackerError } from "../../lib/util/errors.ts";

const where = { file: "Dockerfile", line: 5, keyword: "COPY" };
const lookup: VarLookup = (n) => (n === "APP" ? { kind: "value", value: "/srv/app" } : { kind: "unknown" });

function ctx(over: Partial<CopyContext> = {}): CopyContext & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    where,
    lookup,
    workdir: "/work",
    stageLayer: (ref) => (ref === "build" || ref === "0" ? "build" : undefined),
    contextDir: "/ctx",
    outputDir: "/ctx",
    isDirectory: (p) => p === "/ctx/dir" || p === "/ctx",
    warn: (m) => warnings.push(m),
    warnings,
    ...over,
  };
}

function copy(sources: string[], dest: string, flags: DockerFlag[] = [], c = ctx()) {
  return copyImports(sources.map((s) => lexWord(s, "\\", where)), lexWord(dest, "\\", where), flags, c);
}

Deno.test("relativePath() walks up and down between absolute directories", () => {
  assert.equal(relativePath("/a/b", "/a/b"), ".");
  assert.equal(relativePath("/a/b", "/a/b/c/d"), "c/d");
  assert.equal(relativePath("/a/b/out", "/a/b/src"), "../src");
  assert.equal(relativePath("/", "/x"), "x");
});

Deno.test("copyImports() resolves destinations against WORKDIR, keeping directory slashes", () => {
  assert.deepEqual(copy(["f"], "g"), [{ path: "./f", dest: "/work/g" }]);
  assert.deepEqual(copy(["f"], "."), [{ path: "./f", dest: "/work/" }]);
  assert.deepEqual(copy(["f"], "sub/"), [{ path: "./f", dest: "/work/sub/" }]);
  assert.deepEqual(copy(["f"], "$APP/bin/"), [{ path: "./f", dest: "/srv/app/bin/" }]);
  assert.deepEqual(copy(["a", "b"], "/x/"), [{ path: "./a", dest: "/x/" }, { path: "./b", dest: "/x/" }]);
  assert.throws(() => copy(["a", "b"], "/x"), /several sources needs a destination ending in "\/"/);
});

Deno.test("copyImports() gives local directories a trailing slash (Docker copies their contents)", () => {
  assert.deepEqual(copy(["dir"], "/x/"), [{ path: "./dir/", dest: "/x/" }]);
  assert.deepEqual(copy(["/dir"], "/x"), [{ path: "./dir/", dest: "/x" }]);
  const c = ctx();
  assert.deepEqual(copy(["."], "/app/", [], c), [{ path: "./", dest: "/app/" }]);
  assert.match(c.warnings[0], /whole build context/);
  // A stacker file written elsewhere gets paths relative to itself.
  assert.deepEqual(copy(["dir", "f"], "/x/", [], ctx({ outputDir: "/out" })), [
    { path: "../ctx/dir/", dest: "/x/" },
    { path: "../ctx/f", dest: "/x/" },
  ]);
});

Deno.test("copyImports() maps --from to stacker:// and --chown/--chmod to uid, gid and mode", () => {
  const c = ctx();
  assert.deepEqual(copy(["/out/app"], "/usr/bin/", [{ name: "from", value: "build" }], c), [
    { path: "stacker://build/out/app", dest: "/usr/bin/" },
  ]);
  assert.match(c.warnings[0], /if \/out\/app is a directory/);
  assert.deepEqual(copy(["out/"], "/o", [{ name: "from", value: "0" }]), [{
    path: "stacker://build/out/",
    dest: "/o",
  }]);
  assert.deepEqual(copy(["f"], "/f", [{ name: "chown", value: "1000" }, { name: "chmod", value: "0750" }]), [
    { path: "./f", dest: "/f", mode: 0o750, uid: 1000, gid: 1000 },
  ]);
  assert.deepEqual(copy(["f"], "/f", [{ name: "chown", value: "1:2" }]), [{
    path: "./f",
    dest: "/f",
    uid: 1,
    gid: 2,
  }]);
});

Deno.test("copyImports() refuses what stacker imports cannot express", () => {
  const cases: [() => unknown, string, RegExp][] = [
    [
      () => copy(["f"], "/f", [{ name: "from", value: "nginx:latest" }]),
      "convert.unsupported-flag",
      /not an earlier stage/,
    ],
    [
      () => copy(["f"], "/f", [{ name: "chown", value: "app:app" }]),
      "convert.unsupported-flag",
      /numeric uid/,
    ],
    [() => copy(["f"], "/f", [{ name: "chmod", value: "u+x" }]), "convert.unsupported-flag", /octal/],
    [() => copy(["f"], "/f", [{ name: "link" }]), "convert.unsupported-flag", /--link/],
    [() => copy(["f"], "/f", [{ name: "parents", value: "true" }]), "convert.unsupported-flag", /--parents/],
    [() => copy(["*.txt"], "/d/"), "convert.unsupported-wildcard", /wildcards/],
    [() => copy(["../etc/passwd"], "/d/"), "convert.outside-context", /outside the build context/],
    [() => copy(["f"], "$HOME/"), "convert.unknown-variable", /\$HOME/],
  ];
  for (const [fn, code, re] of cases) {
    assert.throws(
      fn,
      (e) => e instanceof StackerError && e.code === code && re.test(e.message) && /line 5/.test(e.message),
    );
  }
});
