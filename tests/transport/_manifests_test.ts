import assert from "node:assert/strict";
import { MediaType } from "../../lib/oci/mod.ts";
import { manifestMediaType } from "../../lib/transport/_manifests.ts";

const bytesOf = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

Deno.test("manifestMediaType() prefers the manifest's own mediaType over the Content-Type", () => {
  const bytes = bytesOf({ schemaVersion: 2, mediaType: MediaType.ociIndex });
  assert.equal(manifestMediaType(bytes, "application/json; charset=utf-8"), MediaType.ociIndex);
});

Deno.test("manifestMediaType() falls back to the Content-Type without its parameters", async (t) => {
  await t.step("no mediaType field", () => {
    const bytes = bytesOf({ schemaVersion: 2 });
    assert.equal(
      manifestMediaType(bytes, ` ${MediaType.ociManifest} ; charset=utf-8`),
      MediaType.ociManifest,
    );
  });
  await t.step("mediaType not a string", () => {
    const bytes = bytesOf({ schemaVersion: 2, mediaType: 7 });
    assert.equal(manifestMediaType(bytes, MediaType.dockerManifest), MediaType.dockerManifest);
  });
  await t.step("not JSON (the parser reports it later)", () => {
    assert.equal(
      manifestMediaType(new TextEncoder().encode("{"), MediaType.ociManifest),
      MediaType.ociManifest,
    );
  });
  await t.step("no header either", () => {
    assert.equal(manifestMediaType(bytesOf({}), null), "");
  });
});
