import assert from "node:assert/strict";
import { contentRangeStart } from "../../lib/transport/_blob_download.ts";

Deno.test("contentRangeStart() reads the first byte of a Content-Range and refuses other forms", async (t) => {
  const cases: [string | null, number | undefined][] = [
    ["bytes 100-199/200", 100],
    ["bytes 0-9/*", 0], // total unknown
    ["bytes 5-9/10", 5],
    ["bytes */200", undefined], // an unsatisfiable-range answer
    ["bytes=100-199/200", undefined], // a Range request header, not a Content-Range
    ["100-199/200", undefined],
    ["bytes 100-/200", undefined],
    ["", undefined],
    [null, undefined],
  ];
  for (const [header, want] of cases) {
    await t.step(`${JSON.stringify(header)} -> ${want}`, () => {
      assert.equal(contentRangeStart(header), want);
    });
  }
});
