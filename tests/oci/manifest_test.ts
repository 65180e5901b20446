import assert from "node:assert/strict";
import {
  MediaType,
  normalizeArch,
  parseDescriptor,
  parseImageConfig,
  parseManifestOrIndex,
  selectPlatform,
  sha256Digest,
} from "../../lib/oci/mod.ts";
import type { Index } from "../../lib/oci/mod.ts";
import { OciError } from "../../lib/util/errors.ts";

const enc = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const D = { mediaType: MediaType.ociConfig, digest: sha256Digest("c"), size: 1 };
const isBad = (e: unknown) =>
  e instanceof OciError && (e.code === "oci.bad-json" || e.code === "oci.bad-digest");

Deno.test("parseManifestOrIndex() tells manifests from indexes and refuses ambiguous input", async (t) => {
  await t.step("oci manifest", () => {
    const r = parseManifestOrIndex(
      enc({ schemaVersion: 2, mediaType: MediaType.ociManifest, config: D, layers: [D] }),
    );
    assert.equal(r.kind, "manifest");
  });
  await t.step("docker manifest list by descriptor hint", () => {
    const r = parseManifestOrIndex(enc({ schemaVersion: 2, manifests: [D] }), MediaType.dockerManifestList);
    assert.equal(r.kind, "index");
  });
  const bad: [string, unknown, string?][] = [
    ["not json", "{", undefined],
    ["schemaVersion 1", { schemaVersion: 1, config: D, layers: [] }],
    ["both shapes", { schemaVersion: 2, config: D, layers: [], manifests: [] }],
    ["neither shape", { schemaVersion: 2 }],
    ["index labelled as manifest", { schemaVersion: 2, mediaType: MediaType.ociManifest, manifests: [] }],
    ["manifest labelled as index", {
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      config: D,
      layers: [],
    }],
    ["bad layer digest", { schemaVersion: 2, config: D, layers: [{ ...D, digest: "sha256:../x" }] }],
    ["negative size", { schemaVersion: 2, config: { ...D, size: -1 }, layers: [] }],
    [
      "hint contradicts",
      { schemaVersion: 2, mediaType: MediaType.ociManifest, config: D, layers: [] },
      MediaType.ociIndex,
    ],
  ];
  for (const [name, v, hint] of bad) {
    await t.step(`refuses ${name}`, () => assert.throws(() => parseManifestOrIndex(enc(v), hint), isBad));
  }
});

Deno.test("parseDescriptor() and parseImageConfig() check digests", () => {
  assert.deepEqual(parseDescriptor(D), D);
  assert.throws(() => parseDescriptor({ ...D, mediaType: "" }), isBad);
  const cfg = parseImageConfig(
    enc({ os: "linux", architecture: "amd64", rootfs: { type: "layers", diff_ids: [D.digest] } }),
  );
  assert.equal(cfg.os, "linux");
  assert.throws(() => parseImageConfig(enc({ rootfs: { diff_ids: ["nope"] } })), isBad);
  assert.throws(() => parseImageConfig(enc({ os: "linux" })), isBad);
});

Deno.test("selectPlatform() matches os/arch/variant and lists what is offered", () => {
  const index: Index = {
    schemaVersion: 2,
    manifests: [
      { ...D, digest: sha256Digest("a"), platform: { os: "linux", architecture: "amd64" } },
      { ...D, digest: sha256Digest("b"), platform: { os: "linux", architecture: "arm", variant: "v7" } },
    ],
  };
  assert.equal(normalizeArch("x86_64"), "amd64");
  assert.equal(selectPlatform(index, "linux", "x86_64").digest, sha256Digest("a"));
  assert.equal(selectPlatform(index, "linux", "arm/v7").digest, sha256Digest("b"));
  assert.throws(
    () => selectPlatform(index, "linux", "arm/v6"),
    (e: unknown) =>
      e instanceof OciError && e.code === "oci.no-platform" && e.message.includes("linux/arm/v7"),
  );
});
