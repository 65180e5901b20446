import assert from "node:assert/strict";
import { memoryLogger } from "../../lib/util/log.ts";
import { parseStackerFile, resolveIn, runScriptOf } from "../../lib/stackerfile/parse_stacker_file.ts";
import { resolveSubstitutions } from "../../lib/stackerfile/substitute.ts";
import type { LayerSpec } from "../../lib/stackerfile/types.ts";
import { stackerfileError } from "./_catch.ts";

const FILE = "/proj/sub/stacker.yaml";
const HASH = "a".repeat(64);

/** A spec as plain data (no runScript function), for deepEqual. */
function data(l: LayerSpec): Record<string, unknown> {
  const { runScript: _r, positions: _p, ...rest } = l;
  return rest;
}

Deno.test("parseStackerFile() normalises every directive", () => {
  const text = `
base:
  from:
    type: docker
    url: docker://example.com/busybox:1.36
    insecure: true
  imports:
    - local.txt
    - path: dir/
      dest: /opt/
      mode: 0755
      uid: 1000
      gid: 0
    - path: https://example.com/f.tgz
      hash: ${HASH.toUpperCase()}
    - path: stacker://other/out/bin
      dest: /usr/bin/bin
      mode: 0o644
    - path: /abs/file
      mode: 420
  overlay_dirs:
    - source: overlay
      dest: /usr
    - source: /abs/ov
  run:
    - echo one
    - echo "two"
  entrypoint: /bin/sh -c 'echo "a b"'
  cmd: [ls, -l, 1]
  environment:
    PATH: /bin
    RATE: 1.0
    EMPTY:
    YES: yes
  build_env:
    FOO: bar
  build_env_passthrough: ["http_.*", TERM]
  volumes: [/data, /logs]
  labels:
    a.b: c
  annotations:
    org.opencontainers.image.title: t
  generate_labels: |
    echo x > /stacker/oci-labels/x
  working_dir: /work
  runtime_user: 1000
  build_only: true
  binds:
    - /dev/null
    - rel -> /in/container
    - source: /src
      dest: /dst
    - source: /only
  os: linux
  arch: arm64
other:
  from:
    type: built
    tag: base
  full_command: /bin/app --flag
  import: one.txt
`;
  const sf = parseStackerFile(text, FILE);
  assert.equal(sf.path, FILE);
  assert.equal(sf.dir, "/proj/sub");
  assert.equal(sf.text, text);
  assert.deepEqual(sf.prerequisites, []);
  assert.deepEqual(sf.layers.map((l) => l.name), ["base", "other"]);
  const [base, other] = sf.layers;
  assert.deepEqual(data(base), {
    name: "base",
    file: FILE,
    index: 0,
    from: { type: "docker", url: "docker://example.com/busybox:1.36", insecure: true },
    imports: [
      { path: "/proj/sub/local.txt", kind: "local" },
      { path: "/proj/sub/dir/", kind: "local", dest: "/opt/", mode: 0o755, uid: 1000, gid: 0 },
      { path: "https://example.com/f.tgz", kind: "http", hash: HASH },
      { path: "stacker://other/out/bin", kind: "stacker", dest: "/usr/bin/bin", mode: 0o644 },
      { path: "/abs/file", kind: "local", mode: 420 },
    ],
    legacyImport: false,
    overlayDirs: [{ source: "/proj/sub/overlay", dest: "/usr" }, { source: "/abs/ov", dest: "/" }],
    run: ["echo one", 'echo "two"'],
    entrypoint: ["/bin/sh", "-c", 'echo "a b"'],
    cmd: ["ls", "-l", "1"],
    environment: { PATH: "/bin", RATE: "1.0", EMPTY: "", YES: "yes" },
    buildEnv: { FOO: "bar" },
    buildEnvPassthrough: ["http_.*", "TERM"],
    volumes: ["/data", "/logs"],
    labels: { "a.b": "c" },
    annotations: { "org.opencontainers.image.title": "t" },
    generateLabels: ["echo x > /stacker/oci-labels/x\n"],
    workingDir: "/work",
    runtimeUser: "1000",
    buildOnly: true,
    binds: [
      { source: "/dev/null", dest: "/dev/null" },
      { source: "/proj/sub/rel", dest: "/in/container" },
      { source: "/src", dest: "/dst" },
      { source: "/only", dest: "/only" },
    ],
    os: "linux",
    arch: "arm64",
  });
  assert.equal(base.runScript(), '#!/bin/sh -xe\necho one\necho "two"\n');
  assert.deepEqual(base.positions[""], { file: FILE, line: 2, column: 1 });
  assert.deepEqual(base.positions.imports, { file: FILE, line: 7, column: 3 });
  assert.deepEqual(data(other), {
    name: "other",
    file: FILE,
    index: 1,
    from: { type: "built", tag: "base" },
    imports: [{ path: "/proj/sub/one.txt", kind: "local" }],
    legacyImport: true,
    fullCommand: ["/bin/app", "--flag"],
    buildOnly: false,
  });
  assert.equal(other.runScript(), undefined);
  assert.equal(other.os, undefined, "os stays undefined when not given");
});

Deno.test("runScriptOf() applies the shebang rule", async (t) => {
  const cases: [string, string[], string][] = [
    ["default header", ["echo hi"], "#!/bin/sh -xe\necho hi\n"],
    ["own shebang kept", ["#!/bin/bash -ex", "echo hi"], "#!/bin/bash -ex\necho hi\n"],
    ["string script", ["#!/usr/bin/env python3\nprint(1)\n"], "#!/usr/bin/env python3\nprint(1)\n"],
    ["list items not split", ["echo 'a\nb'"], "#!/bin/sh -xe\necho 'a\nb'\n"],
    ["empty", [], "#!/bin/sh -xe\n"],
  ];
  for (const [name, run, want] of cases) await t.step(name, () => assert.equal(runScriptOf(run), want));
});

Deno.test("parseStackerFile() accepts every from type and every imports shape", async (t) => {
  const ok: [string, string, unknown][] = [
    ["scratch", "from: {type: scratch}", { type: "scratch" }],
    ["tar url stays relative to the CWD", "from: {type: tar, url: base.tar}", {
      type: "tar",
      url: "base.tar",
    }],
    ["oci url stays relative", "from: {type: oci, url: 'oci:base'}", { type: "oci", url: "oci:base" }],
    ["oci tag with colons", "from: {type: oci, url: 'l:dest:busybox:0.1.1'}", {
      type: "oci",
      url: "l:dest:busybox:0.1.1",
    }],
    ["tar from stacker://", "from: {type: tar, url: 'stacker://b/x.tar'}", {
      type: "tar",
      url: "stacker://b/x.tar",
    }],
  ];
  for (const [name, from, want] of ok) {
    await t.step(name, () => {
      assert.deepEqual(parseStackerFile(`l:\n  ${from}\n`, FILE).layers[0].from, want);
    });
  }
  await t.step("imports as a single string", () => {
    const l = parseStackerFile("l:\n  from: {type: scratch}\n  imports: a/b\n", FILE).layers[0];
    assert.deepEqual(l.imports, [{ path: "/proj/sub/a/b", kind: "local" }]);
  });
  await t.step("mode 0755, 0o755 and 493 are the same", () => {
    const text = "l:\n  from: {type: scratch}\n  imports:\n" +
      ["0755", "0o755", "493"].map((m) => `    - {path: f, mode: ${m}}\n`).join("");
    assert.deepEqual(parseStackerFile(text, FILE).layers[0].imports!.map((i) => i.mode), [493, 493, 493]);
  });
  await t.step("unknown keys of an import are ignored with a warning", () => {
    const { log, lines } = memoryLogger();
    const text = "l:\n  from: {type: scratch}\n  imports:\n    - path: f\n      perms: 0777\n";
    assert.deepEqual(parseStackerFile(text, FILE, { log }).layers[0].imports, [
      { path: "/proj/sub/f", kind: "local" },
    ]);
    assert.ok(lines.some((l) => l.includes('unknown import key "perms"')), lines.join("\n"));
  });
  await t.step("bom is accepted with a warning", () => {
    const { log, lines } = memoryLogger();
    parseStackerFile("l:\n  from: {type: scratch}\n  bom: {generate: true}\n", FILE, { log });
    assert.ok(lines.some((l) => l.includes("bom")), lines.join("\n"));
  });
  await t.step("relative paths of a URL-loaded file resolve against the CWD", () => {
    const sf = parseStackerFile("l:\n  from: {type: scratch}\n  imports: [f]\n", "https://h/x/stacker.yaml", {
      cwd: "/cwd",
    });
    assert.equal(sf.dir, "/cwd");
    assert.equal(sf.layers[0].imports![0].path, "/cwd/f");
  });
  await t.step("config.prerequisites resolve against the file's dir; URLs stay", () => {
    const sf = parseStackerFile(
      "config:\n  prerequisites:\n    - ../a/stacker.yaml\n    - /b.yaml\n    - https://h/c.yaml\nl:\n  from: {type: scratch}\n",
      FILE,
    );
    assert.deepEqual(sf.prerequisites, ["/proj/a/stacker.yaml", "/b.yaml", "https://h/c.yaml"]);
  });
});

Deno.test("parseStackerFile() handles YAML anchors, aliases and merge keys", () => {
  const text = `
defaults: &defaults
  from:
    type: docker
    url: docker://busybox
  environment: &env
    A: "1"
one:
  <<: *defaults
  run: echo one
two:
  from: {type: built, tag: one}
  environment: *env
`;
  const [d, one, two] = parseStackerFile(text, FILE).layers;
  assert.equal(d.name, "defaults");
  assert.deepEqual(one.from, { type: "docker", url: "docker://busybox" });
  assert.deepEqual(one.environment, { A: "1" });
  assert.deepEqual(two.environment, { A: "1" });
});

Deno.test("parseStackerFile() applies substitutions before parsing and keeps the substituted text", () => {
  const substitutions = resolveSubstitutions({ substitute: ["TAG=1.2,3"], dirs: { ociDir: "/o" } });
  const sf = parseStackerFile(
    "l:\n  from: {type: oci, url: '${{STACKER_OCI_DIR}}:${{TAG}}'}\n  run: echo ${{MSG:hi}}\n",
    FILE,
    { substitutions },
  );
  assert.equal(sf.layers[0].from.url, "/o:1.2,3");
  assert.deepEqual(sf.layers[0].run, ["echo hi"]);
  assert.match(sf.text, /url: '\/o:1\.2,3'/);
});

interface BadCase {
  name: string;
  text: string;
  code: string;
  /** line:column of the (first) problem */
  at: string;
  message: RegExp;
  requireHash?: boolean;
}

const BAD: BadCase[] = [
  { name: "empty file", text: "", code: "stackerfile.empty", at: "1:1", message: /empty/ },
  { name: "only a comment", text: "# nothing\n", code: "stackerfile.empty", at: "1:1", message: /empty/ },
  {
    name: "several documents",
    text: "a:\n  from: {type: scratch}\n---\nb:\n  from: {type: scratch}\n",
    code: "stackerfile.several-documents",
    at: "3:1",
    message: /2 YAML documents/,
  },
  {
    name: "tab indentation",
    text: "a:\n\tfrom: x\n",
    code: "stackerfile.yaml",
    at: "2:1",
    message: /[Tt]ab/,
  },
  {
    name: "duplicate layer key",
    text: "a:\n  from: {type: scratch}\na:\n  from: {type: scratch}\n",
    code: "stackerfile.duplicate-key",
    at: "3:1",
    message: /duplicate key "a"/,
  },
  {
    name: "duplicate directive",
    text: "a:\n  from: {type: scratch}\n  run: x\n  run: y\n",
    code: "stackerfile.duplicate-key",
    at: "4:3",
    message: /duplicate key "run"/,
  },
  {
    name: "non-string layer name",
    text: "1:\n  from: {type: scratch}\n",
    code: "stackerfile.non-string-key",
    at: "1:1",
    message: /layer name "1" is not a string/,
  },
  {
    name: "non-string key in a map",
    text: "a:\n  from: {type: scratch}\n  environment:\n    ? [x]\n    : y\n",
    code: "stackerfile.non-string-key",
    at: "4:7",
    message: /not a string/,
  },
  {
    name: "top level is a list",
    text: "- a\n",
    code: "stackerfile.not-a-map",
    at: "1:1",
    message: /map of layer/,
  },
  {
    name: "unknown directive with a suggestion",
    text: "a:\n  from: {type: scratch}\n  improts: [x]\n",
    code: "stackerfile.unknown-directive",
    at: "3:3",
    message: /unknown directive "improts" \(did you mean "imports"\?\)/,
  },
  {
    name: "unknown from directive",
    text: "a:\n  from:\n    type: docker\n    url: docker://x\n    tags: y\n",
    code: "stackerfile.unknown-from-directive",
    at: "5:5",
    message: /unknown image source directive "tags" \(did you mean "tag"\?\)/,
  },
  {
    name: "unknown from type",
    text: "a:\n  from:\n    type: dokcer\n",
    code: "stackerfile.schema",
    at: "3:11",
    message: /expected one of "docker"/,
  },
  {
    name: "null os",
    text: "a:\n  from: {type: scratch}\n  os:\n",
    code: "stackerfile.schema",
    at: "3:6",
    message: /"os" value cannot be empty/,
  },
  {
    name: "null arch",
    text: "a:\n  from: {type: scratch}\n  arch: null\n",
    code: "stackerfile.schema",
    at: "3:9",
    message: /"arch" value cannot be empty/,
  },
  {
    name: "built without tag",
    text: "a:\n  from:\n    type: built\n",
    code: "stackerfile.no-tag",
    at: "3:5",
    message: /a: from tag cannot be empty for image type 'built'/,
  },
  {
    name: "docker without url",
    text: "a:\n  from: {type: docker}\n",
    code: "stackerfile.no-url",
    at: "2:9",
    message: /from url cannot be empty for image type 'docker'/,
  },
  {
    name: "import and imports together",
    text: "a:\n  from: {type: scratch}\n  imports: [x]\n  import: [y]\n",
    code: "stackerfile.import-and-imports",
    at: "4:3",
    message: /not both/,
  },
  {
    name: "http import without hash under --require-hash",
    text: "a:\n  from: {type: scratch}\n  imports:\n    - https://h/f\n",
    code: "stackerfile.hash-required",
    at: "4:7",
    message: /Remote import needs a hash in yaml for path: https:\/\/h\/f/,
    requireHash: true,
  },
  {
    name: "bad hash",
    text: "a:\n  from: {type: scratch}\n  imports:\n    - path: f\n      hash: abc\n",
    code: "stackerfile.bad-hash",
    at: "5:13",
    message: /Given hash "abc" is not valid/,
  },
  {
    name: "relative dest",
    text: "a:\n  from: {type: scratch}\n  imports:\n    - path: f\n      dest: rel\n",
    code: "stackerfile.relative-dest",
    at: "5:13",
    message: /must be an absolute path/,
  },
  {
    name: "negative uid",
    text: "a:\n  from: {type: scratch}\n  imports:\n    - {path: f, uid: -1}\n",
    code: "stackerfile.schema",
    at: "4:22",
    message: /id ≥ 0/,
  },
  {
    name: "mode as a string",
    text: "a:\n  from: {type: scratch}\n  imports:\n    - {path: f, mode: rwx}\n",
    code: "stackerfile.schema",
    at: "4:23",
    message: /integer/,
  },
  {
    name: "missing import path",
    text: "a:\n  from: {type: scratch}\n  imports:\n    - dest: /x\n",
    code: "stackerfile.schema",
    at: "4:7",
    message: /missing "path"/,
  },
  {
    name: "nested list import",
    text: "a:\n  from: {type: scratch}\n  imports:\n    - [a, b]\n",
    code: "stackerfile.schema",
    at: "4:7",
    message: /expected a path or a map/,
  },
  {
    name: "imports as a map",
    text: "a:\n  from: {type: scratch}\n  imports: {path: x}\n",
    code: "stackerfile.schema",
    at: "3:12",
    message: /array/,
  },
  {
    name: "layer name with a colon",
    text: "'a:b':\n  from: {type: scratch}\n",
    code: "stackerfile.bad-layer-name",
    at: "1:1",
    message: /forbidden due to overlay constraints/,
  },
  {
    name: "layer without from",
    text: "a:\n  run: x\n",
    code: "stackerfile.no-base",
    at: "1:1",
    message: /no base \(from directive\)/,
  },
  { name: "empty layer", text: "a:\n", code: "stackerfile.no-base", at: "1:1", message: /no base/ },
  {
    name: "config with a layer definition",
    text: "config:\n  from: {type: scratch}\n",
    code: "stackerfile.bad-config",
    at: "2:3",
    message: /config cannot contain a layer definition/,
  },
  {
    name: "prerequisites not a list",
    text: "config:\n  prerequisites: a.yaml\n",
    code: "stackerfile.schema",
    at: "2:18",
    message: /list of stacker file paths/,
  },
  {
    name: "bad bind string",
    text: "a:\n  from: {type: scratch}\n  binds:\n    - /a => /b\n",
    code: "stackerfile.schema",
    at: "4:7",
    message: /SOURCE -> DEST/,
  },
  {
    name: "bind without source",
    text: "a:\n  from: {type: scratch}\n  binds:\n    - dest: /b\n",
    code: "stackerfile.schema",
    at: "4:7",
    message: /missing "source"/,
  },
  {
    name: "overlay dir without source",
    text: "a:\n  from: {type: scratch}\n  overlay_dirs:\n    - dest: /b\n",
    code: "stackerfile.schema",
    at: "4:7",
    message: /missing "source"/,
  },
  {
    name: "run as a map",
    text: "a:\n  from: {type: scratch}\n  run: {a: b}\n",
    code: "stackerfile.schema",
    at: "3:8",
    message: /string or a list of strings/,
  },
  {
    name: "environment as a list",
    text: "a:\n  from: {type: scratch}\n  environment: [A=1]\n",
    code: "stackerfile.schema",
    at: "3:16",
    message: /map of names to strings/,
  },
  {
    name: "environment value a map",
    text: "a:\n  from: {type: scratch}\n  environment:\n    A: {b: c}\n",
    code: "stackerfile.schema",
    at: "4:8",
    message: /string value/,
  },
  {
    name: "build_only not a bool",
    text: "a:\n  from: {type: scratch}\n  build_only: sometimes\n",
    code: "stackerfile.schema",
    at: "3:15",
    message: /true or false/,
  },
  {
    name: "unclosed quote in cmd",
    text: "a:\n  from: {type: scratch}\n  cmd: echo 'x\n",
    code: "stackerfile.bad-command",
    at: "3:8",
    message: /unclosed single quote/,
  },
  {
    name: "bad passthrough regex",
    text: "a:\n  from: {type: scratch}\n  build_env_passthrough: ['(']\n",
    code: "stackerfile.bad-regex",
    at: "3:26",
    message: /not a valid regular expression/,
  },
];

Deno.test("parseStackerFile() reports each problem with file, line, column and code", async (t) => {
  for (const c of BAD) {
    await t.step(c.name, async () => {
      const err = await stackerfileError(() =>
        parseStackerFile(c.text, FILE, { requireHash: c.requireHash })
      );
      assert.equal(err.code, c.code, err.message);
      assert.equal(`${err.context.line}:${err.context.column}`, c.at, err.message);
      assert.equal(err.context.file, FILE);
      assert.equal(err.context.count, 1, err.message);
      assert.match(err.message, c.message);
      assert.ok(err.message.includes(`${FILE}:${c.at}: `), err.message);
    });
  }
});

Deno.test("parseStackerFile() reports several problems of one file together", async () => {
  const text = [
    "a:",
    "  form: {type: scratch}", // 2: unknown (did you mean from), and so no base at 1:1
    "b:",
    "  from: {type: scratch}",
    "  runn: x", // 5
    "  os: ~", // 6
    "c:",
    "  from: {type: built}", // 8
  ].join("\n");
  const err = await stackerfileError(() => parseStackerFile(text, FILE));
  assert.equal(err.code, "stackerfile.invalid");
  assert.equal(err.context.count, 5, err.message);
  const lines = err.message.split("\n");
  assert.equal(lines[0], "Cannot load stacker file: 5 errors");
  assert.match(lines[1], /:1:1: a: invalid layer: no base/);
  assert.match(lines[2], /:2:3: unknown directive "form" \(did you mean "from"\?\)/);
  assert.match(lines[3], /:5:3: unknown directive "runn" \(did you mean "run"\?\)/);
  assert.match(lines[4], /:6:7: "os" value cannot be empty/);
  assert.match(lines[5], /:8:9: c: from tag cannot be empty/);
});

Deno.test("resolveIn() keeps a trailing slash and normalises the rest", () => {
  assert.equal(resolveIn("/a/b", "c/"), "/a/b/c/");
  assert.equal(resolveIn("/a/b", "../c"), "/a/c");
  assert.equal(resolveIn("/a/b", "/x/./y/"), "/x/y/");
});
