import assert from "node:assert/strict";
import { type LayerDoc, stackerYaml, substitutionsYaml } from "../../lib/convert/_stacker_yaml.ts";
import { YAML } from "../../lib/util/deps.ts";

const bare: LayerDoc = {
  name: "base",
  from: { type: "docker", url: "docker://busybox" },
  buildOnly: true,
  imports: [],
  binds: [],
  run: [],
  labels: {},
  annotations: {},
};

Deno.test("stackerYaml() leaves out empty sections and always writes build_env", () => {
  assert.equal(
    stackerYaml([bare], "arm64"),
    "base:\n  from:\n    type: docker\n    url: docker://busybox\n  build_only: true\n  build_env:\n    arch: arm64\n",
  );
  assert.equal(
    stackerYaml([{ ...bare, buildOnly: false }], "amd64"),
    "base:\n  from:\n    type: docker\n    url: docker://busybox\n  build_env:\n    arch: amd64\n",
  );
});

Deno.test("stackerYaml() writes keys in a fixed order, modes in octal and long lines unfolded", () => {
  const long = `sh -e -c '${"echo x && ".repeat(30)}true'`;
  const text = stackerYaml([
    bare,
    {
      name: "${{IMAGE}}",
      from: { type: "built", tag: "base" },
      buildOnly: false,
      // Filled in a different order than written, to show the order is the writer's.
      annotations: { "org.opencontainers.image.authors": "Jane" },
      labels: { a: "1" },
      cmd: ["--serve"],
      entrypoint: ["/bin/app"],
      run: [long],
      binds: [{ source: "${{STACKER_VOL1}}", dest: "/data" }],
      imports: [{ path: "./a", dest: "/a", mode: 0o640, uid: 1, gid: 2 }, { path: "./b/", dest: "/b/" }],
    },
  ], "amd64");
  const raw = YAML.parse(text);
  assert.deepEqual(Object.keys(raw), ["base", "${{IMAGE}}"]);
  assert.deepEqual(Object.keys(raw["${{IMAGE}}"]), [
    "from",
    "build_env",
    "imports",
    "binds",
    "run",
    "entrypoint",
    "cmd",
    "labels",
    "annotations",
  ]);
  assert.match(text, /mode: 0o640\n/);
  assert.deepEqual(raw["${{IMAGE}}"].imports[0], { path: "./a", dest: "/a", mode: 0o640, uid: 1, gid: 2 });
  assert.ok(text.includes(`  - ${long}\n`) || text.includes(`  - "${long}"\n`), "the run line is one line");
  assert.equal(raw["${{IMAGE}}"].run[0], long);
});

Deno.test("substitutionsYaml() is a map in insertion order, and {} when there are none", () => {
  assert.equal(substitutionsYaml({}), "{}\n");
  assert.equal(YAML.parse(substitutionsYaml({})) !== null, true);
  assert.equal(substitutionsYaml({ IMAGE: "app", V: "1.0", E: "" }), 'IMAGE: app\nV: "1.0"\nE: ""\n');
});
