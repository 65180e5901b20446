/**
 * The directive table: one row per key a layer may hold, each turning its YAML value into the
 * `LayerSpec` fields the build reads (checked here row by row, through the parser), and a wrong
 * shape reported at the value, naming the row's expectation.
 */
import assert from "node:assert/strict";
import { DIRECTIVES, LAYER_KEYS } from "../../lib/stackerfile/_directives.ts";
import { parseStackerFile } from "../../lib/stackerfile/parse_stacker_file.ts";
import { memoryLogger } from "../../lib/util/log.ts";
import { stackerfileError } from "./_catch.ts";

const FILE = "/proj/stacker.yaml";
const HASH = "c".repeat(64);

/** Key, YAML value (flow style), the fields it gives. */
const ROWS: [string, string, Record<string, unknown>][] = [
  ["from", "{type: docker, url: docker://h/i, tag: 1.0, insecure: true}", {
    from: { type: "docker", url: "docker://h/i", tag: "1.0", insecure: true },
  }],
  ["imports", `[a, {path: b/, dest: /o/, mode: 0644, hash: "sha256:${HASH}"}]`, {
    imports: [
      { path: "/proj/a", kind: "local" },
      { path: "/proj/b/", kind: "local", hash: HASH, dest: "/o/", mode: 0o644 },
    ],
  }],
  ["import", "stacker://l/p", { imports: [{ path: "stacker://l/p", kind: "stacker" }], legacyImport: true }],
  ["overlay_dirs", "[{source: o}, {source: p, dest: /q}]", {
    overlayDirs: [{ source: "/proj/o", dest: "/" }, { source: "/proj/p", dest: "/q" }],
  }],
  ["run", "[echo a, 2]", { run: ["echo a", "2"] }],
  ["cmd", `"/bin/x 'a b'"`, { cmd: ["/bin/x", "a b"] }],
  ["entrypoint", "[/bin/e, 0755]", { entrypoint: ["/bin/e", "0755"] }],
  ["full_command", "/bin/f -v", { fullCommand: ["/bin/f", "-v"] }],
  ["build_env_passthrough", "[HTTP_.*]", { buildEnvPassthrough: ["HTTP_.*"] }],
  ["build_env", "{A: 1.10, B: null}", { buildEnv: { A: "1.10", B: "" } }],
  ["environment", "{Z: yes, A: x}", { environment: { Z: "yes", A: "x" } }],
  ["volumes", "[/v, 12]", { volumes: ["/v", "12"] }],
  ["labels", "{l: 1}", { labels: { l: "1" } }],
  ["generate_labels", "echo x", { generateLabels: ["echo x"] }],
  ["working_dir", "/w", { workingDir: "/w" }],
  ["build_only", "true", { buildOnly: true }],
  ["binds", `[/a, "/b -> /c", {source: s, dest: /d}]`, {
    binds: [{ source: "/a", dest: "/a" }, { source: "/b", dest: "/c" }, { source: "/proj/s", dest: "/d" }],
  }],
  ["runtime_user", "0700", { runtimeUser: "0700" }],
  ["annotations", "{a: b}", { annotations: { a: "b" } }],
  ["os", "linux", { os: "linux" }],
  ["arch", "arm64", { arch: "arm64" }],
  ["bom", "{x: 1}", {}],
  ["was_legacy_import", "true", {}],
  ["was_bom", "true", {}],
];

function parseOne(key: string, value: string) {
  const from = key === "from" ? "" : "  from: {type: scratch}\n";
  const text = `l:\n${from}  ${key}: ${value}\n`;
  return parseStackerFile(text, FILE, { log: memoryLogger().log }).layers[0];
}

Deno.test("DIRECTIVES has one row per layer key, in spec order, and LAYER_KEYS lists them", () => {
  assert.deepEqual(LAYER_KEYS, DIRECTIVES.map((d) => d.key));
  assert.equal(new Set(LAYER_KEYS).size, LAYER_KEYS.length);
  assert.deepEqual(ROWS.map(([k]) => k), LAYER_KEYS, "every row is checked below");
});

Deno.test("each directive row gives its LayerSpec fields", async (t) => {
  const base = parseOne("os", "linux");
  const defaults = { legacyImport: false, buildOnly: false, from: { type: "scratch" } };
  for (const [key, value, fields] of ROWS) {
    await t.step(key, () => {
      const spec = parseOne(key, value);
      const got: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(spec)) {
        if (!["name", "file", "index", "positions", "runScript"].includes(k)) got[k] = v;
      }
      assert.deepEqual(got, { ...defaults, ...fields });
      assert.deepEqual(spec.positions[key], { file: FILE, line: key === "from" ? 2 : 3, column: 3 });
      assert.equal(spec.name, base.name);
    });
  }
});

Deno.test("a wrong shape is reported at the directive's value with the row's expectation", async () => {
  const err = await stackerfileError(() =>
    parseStackerFile("l:\n  from: {type: scratch}\n  volumes: {a: b}\n  build_only: maybe\n", FILE)
  );
  assert.match(err.message, /stacker\.yaml:3:12: expected a list of paths/);
  assert.match(err.message, /stacker\.yaml:4:15: expected true or false/);
  assert.equal(err.context.count, 2);
});
