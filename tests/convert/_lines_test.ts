import assert from "node:assert/strict";
import { dockerfileLines } from "../../lib/convert/_lines.ts";

Deno.test("dockerfileLines() gives one logical line per instruction with its first and last line", () => {
  const r = dockerfileLines("\uFEFF# escape=\\\r\nFROM a\r\nRUN x \\\r\n\r\n  # c\r\n  y\r\n", "D");
  assert.deepEqual(r.directives, { escape: "\\" });
  assert.deepEqual(r.lines, [{ text: "FROM a", line: 2, endLine: 2 }, {
    text: "RUN x   y",
    line: 3,
    endLine: 6,
  }]);
});

Deno.test("dockerfileLines() ends the directives at the first other line and ignores unknown ones", () => {
  const r = dockerfileLines("# foo=bar\n# escape=`\nFROM a\n", "D");
  assert.deepEqual(r.directives, {});
  assert.equal(r.escape, "\\");
});

Deno.test("dockerfileLines() accepts a continuation at the end of the file", () => {
  assert.deepEqual(dockerfileLines("RUN a \\", "D").lines, [{ text: "RUN a", line: 1, endLine: 1 }]);
});
