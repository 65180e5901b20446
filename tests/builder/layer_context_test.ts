/** layerTypesOf(): the one default the layer context carries. */
import assert from "node:assert/strict";
import { layerTypesOf } from "../../lib/builder/layer_context.ts";

Deno.test("layerTypesOf() is tar alone when no type is requested, else the requested types in order", () => {
  assert.deepEqual(layerTypesOf({}), ["tar"]);
  assert.deepEqual(layerTypesOf({ layerTypes: ["squashfs", "tar"] }), ["squashfs", "tar"]);
});
