import assert from "node:assert/strict";
import { BuildError } from "../../lib/util/errors.ts";
import type { ImageConfig } from "../../lib/oci/types.ts";
import {
  DEFAULT_PATH,
  deriveImageConfig,
  hostArchitecture,
  splitShellWords,
} from "../../lib/builder/image_config.ts";
import type { LayerDefinition } from "../../lib/builder/types.ts";

const base: ImageConfig = {
  created: "2020-01-01T00:00:00Z",
  architecture: "amd64",
  os: "linux",
  config: {
    Env: ["PATH=/bin", "A=1"],
    Entrypoint: ["/init"],
    Cmd: ["serve", "--port", "80"],
    Labels: { from: "base", both: "base" },
    Volumes: { "/data": {} },
    WorkingDir: "/srv",
    User: "nobody",
  },
  rootfs: { type: "layers", diff_ids: [`sha256:${"a".repeat(64)}`] },
  history: [{ created_by: "base layer" }],
};
const layer = (extra: Partial<LayerDefinition> = {}): LayerDefinition => ({
  name: "app",
  from: { type: "built", tag: "b" },
  ...extra,
});
const diff = ("sha256:" + "b".repeat(64)) as `sha256:${string}`;
const one = { newLayers: [{ diffId: diff, createdBy: "stacker build of app" }] };

Deno.test("splitShellWords() splits like a shell", async (t) => {
  const cases: [string, string[]][] = [
    ["echo hello world", ["echo", "hello", "world"]],
    ["  a   b ", ["a", "b"]],
    [`sh -c 'echo "x y"'`, ["sh", "-c", 'echo "x y"']],
    [`a "b \\" c" d\\ e`, ["a", 'b " c', "d e"]],
    [`''`, [""]],
  ];
  for (const [input, want] of cases) {
    await t.step(input, () => assert.deepEqual(splitShellWords(input), want));
  }
  assert.throws(() => splitShellWords("a 'b"), BuildError);
});

Deno.test("deriveImageConfig() appends environment and adds PATH only when missing", () => {
  const c = deriveImageConfig(base, layer({ environment: { B: "2", A: "3" } }), one);
  assert.deepEqual(c.config?.Env, ["PATH=/bin", "A=1", "B=2", "A=3"]);
  const s = deriveImageConfig(undefined, layer({ environment: { FOO: "bar" } }), one);
  assert.deepEqual(s.config?.Env, ["FOO=bar", DEFAULT_PATH]);
  const p = deriveImageConfig(undefined, layer({ environment: { PATH: "/x" } }), one);
  assert.deepEqual(p.config?.Env, ["PATH=/x"]);
});

Deno.test("deriveImageConfig() inherits Cmd and Entrypoint unless the layer sets them", async (t) => {
  await t.step("nothing set: both inherited", () => {
    const c = deriveImageConfig(base, layer(), one);
    assert.deepEqual(c.config?.Entrypoint, ["/init"]);
    assert.deepEqual(c.config?.Cmd, ["serve", "--port", "80"]);
  });
  await t.step("cmd only: entrypoint inherited", () => {
    const c = deriveImageConfig(base, layer({ cmd: "echo hello world" }), one);
    assert.deepEqual(c.config?.Entrypoint, ["/init"]);
    assert.deepEqual(c.config?.Cmd, ["echo", "hello", "world"]);
  });
  await t.step("entrypoint only: Cmd cleared", () => {
    const c = deriveImageConfig(base, layer({ entrypoint: ["/bin/app", "-v"] }), one);
    assert.deepEqual(c.config?.Entrypoint, ["/bin/app", "-v"]);
    assert.equal(c.config?.Cmd, null);
  });
  await t.step("both set", () => {
    const c = deriveImageConfig(base, layer({ entrypoint: "/e", cmd: ["x"] }), one);
    assert.deepEqual([c.config?.Entrypoint, c.config?.Cmd], [["/e"], ["x"]]);
  });
  await t.step("nothing to inherit or clear: the keys are left out", () => {
    const c = deriveImageConfig(undefined, layer({ cmd: "x" }), one);
    assert.deepEqual(c.config?.Cmd, ["x"]);
    assert.equal("Entrypoint" in (c.config ?? {}), false);
    const e = deriveImageConfig(undefined, layer({ entrypoint: "/e" }), one);
    assert.equal("Cmd" in (e.config ?? {}), false);
  });
  await t.step("full_command: Entrypoint set, Cmd cleared", () => {
    const c = deriveImageConfig(base, layer({ fullCommand: "/bin/sh -c 'x y'", cmd: "ignored" }), one);
    assert.deepEqual(c.config?.Entrypoint, ["/bin/sh", "-c", "x y"]);
    assert.equal(c.config?.Cmd, null);
  });
});

Deno.test("deriveImageConfig() merges volumes and labels, replaces working_dir and user", () => {
  const c = deriveImageConfig(
    base,
    layer({
      volumes: ["/logs"],
      labels: { both: "layer", mine: "1" },
      workingDir: "/app",
      runtimeUser: "1000",
    }),
    { ...one, generatedLabels: { gen: "g", both: "gen" } },
  );
  assert.deepEqual(c.config?.Volumes, { "/data": {}, "/logs": {} });
  assert.deepEqual(c.config?.Labels, { from: "base", both: "layer", gen: "g", mine: "1" });
  assert.equal(c.config?.WorkingDir, "/app");
  assert.equal(c.config?.User, "1000");
  const kept = deriveImageConfig(base, layer({ workingDir: "", runtimeUser: "" }), one);
  assert.equal(kept.config?.WorkingDir, "/srv");
  assert.equal(kept.config?.User, "nobody");
  assert.throws(() => deriveImageConfig(base, layer({ workingDir: "/proc/self/fd/7" }), one), BuildError);
});

Deno.test("deriveImageConfig() sets os/arch, diff_ids and history; the epoch fixes created and author", () => {
  const c = deriveImageConfig(base, layer({ os: "darwin", arch: "arm64" }), {
    newLayers: [
      { diffId: diff, createdBy: "stacker overlay dir for app" },
      { diffId: diff, createdBy: "stacker build of app" },
    ],
    sourceDateEpoch: 1700000000,
    author: "root@host",
  });
  assert.equal(c.os, "darwin");
  assert.equal(c.architecture, "arm64");
  assert.equal(c.created, "2023-11-14T22:13:20Z");
  assert.equal(c.author, "stacker");
  assert.deepEqual(c.rootfs.diff_ids, [base.rootfs.diff_ids[0], diff, diff]);
  assert.deepEqual(c.history?.map((h) => [h.created_by, h.empty_layer ?? false]), [
    ["base layer", false],
    ["stacker overlay dir for app", false],
    ["stacker build of app", false],
    ["stacker build", true],
  ]);
  assert.ok(c.history?.slice(1).every((h) => h.created === c.created));
  const now = new Date("2024-05-06T07:08:09Z");
  const d = deriveImageConfig(undefined, layer(), { newLayers: [], author: "root@host", now });
  assert.equal(d.architecture, hostArchitecture());
  assert.equal(d.os, "linux");
  assert.equal(d.author, "root@host");
  assert.equal(d.created, "2024-05-06T07:08:09Z");
  const ms = deriveImageConfig(undefined, layer(), {
    newLayers: [],
    now: new Date("2024-05-06T07:08:09.250Z"),
  });
  assert.equal(ms.created, "2024-05-06T07:08:09.250Z");
  assert.deepEqual(d.rootfs.diff_ids, []);
});

Deno.test("deriveImageConfig() gives byte-identical output for identical inputs", () => {
  const opts = { ...one, sourceDateEpoch: 5 };
  const a = JSON.stringify(deriveImageConfig(base, layer({ environment: { X: "1" } }), opts));
  const b = JSON.stringify(deriveImageConfig(base, layer({ environment: { X: "1" } }), opts));
  assert.equal(a, b);
});
