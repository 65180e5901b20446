import assert from "node:assert/strict";
import { buildAnnotations } from "../../lib/builder/annotations.ts";

Deno.test("buildAnnotations() layers base, layer and stacker's own annotations", () => {
  const a = buildAnnotations({
    base: { "org.opencontainers.image.ref.name": "old", kept: "base", over: "base" },
    layer: { over: "layer", "io.stackeroci.stacker.stacker_version": "spoofed" },
    stackerYaml: "a:\n  from: {type: scratch}\n",
    stackerVersion: "9.9.9",
    gitVersion: "v1-dirty",
  });
  assert.deepEqual(a, {
    kept: "base",
    over: "layer",
    "io.stackeroci.stacker.stacker_yaml": "a:\n  from: {type: scratch}\n",
    "io.stackeroci.stacker.stacker_version": "9.9.9",
    "io.stackeroci.stacker.git_version": "v1-dirty",
  });
  const n = buildAnnotations({ namespace: "com.example", stackerYaml: "y", stackerVersion: "1" });
  assert.deepEqual(Object.keys(n), [
    "com.example.stacker.stacker_yaml",
    "com.example.stacker.stacker_version",
  ]);
});
