import assert from "node:assert/strict";
import { formatImageRef, parseImageRef, registryHost } from "../../lib/transport/mod.ts";
import { OciError } from "../../lib/util/errors.ts";

const D = `sha256:${"a".repeat(64)}`;

Deno.test("parseImageRef() reads each scheme", async (t) => {
  const cases: [string, unknown][] = [
    ["docker://busybox", {
      transport: "docker",
      registry: "docker.io",
      repository: "library/busybox",
      tag: "latest",
      digest: undefined,
    }],
    ["docker://127.0.0.1:5000/a/b:1.2", {
      transport: "docker",
      registry: "127.0.0.1:5000",
      repository: "a/b",
      tag: "1.2",
      digest: undefined,
    }],
    ["docker://localhost/x@" + D, {
      transport: "docker",
      registry: "localhost",
      repository: "x",
      tag: undefined,
      digest: D,
    }],
    ["docker://quay.io/org/img:v1@" + D, {
      transport: "docker",
      registry: "quay.io",
      repository: "org/img",
      tag: "v1",
      digest: D,
    }],
    ["oci:/abs/dir:tag", { transport: "oci", dir: "/abs/dir", tag: "tag" }],
    ["oci:dest:busybox:0.1.1", { transport: "oci", dir: "dest", tag: "busybox:0.1.1" }],
    ["oci:/only/dir", { transport: "oci", dir: "/only/dir", tag: undefined }],
    ["docker-archive:/x.tar", {
      transport: "skopeo",
      scheme: "docker-archive",
      spec: "docker-archive:/x.tar",
    }],
    ["containers-storage:img", {
      transport: "skopeo",
      scheme: "containers-storage",
      spec: "containers-storage:img",
    }],
  ];
  for (const [url, want] of cases) await t.step(url, () => assert.deepEqual(parseImageRef(url), want));
});

Deno.test("parseImageRef() refuses malformed references", async (t) => {
  for (
    const url of [
      "docker://UPPER/case",
      "docker://x:bad tag",
      "docker://x@sha256:zz",
      "oci::tag",
      "oci:dir:",
      "ftp://x",
      "busybox",
    ]
  ) {
    await t.step(url, () => {
      assert.throws(
        () => parseImageRef(url),
        (e: unknown) => e instanceof OciError && e.code === "transport.bad-ref",
      );
    });
  }
});

Deno.test("formatImageRef() round-trips and registryHost() maps Docker Hub", () => {
  for (const u of ["docker://127.0.0.1:5000/a/b:1", "oci:/d:t:x", "dir:/x"]) {
    assert.equal(formatImageRef(parseImageRef(u)), u);
  }
  assert.equal(registryHost("docker.io"), "registry-1.docker.io");
  assert.equal(registryHost("quay.io"), "quay.io");
});
