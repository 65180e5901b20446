import assert from "node:assert/strict";
import { shellSplit } from "../../lib/stackerfile/_shell_split.ts";

Deno.test("shellSplit() splits words the way a shell would, without expansion", async (t) => {
  const cases: [string, string[] | { error: string }][] = [
    ["echo hello world", ["echo", "hello", "world"]],
    ["  spaced\t out \n", ["spaced", "out"]],
    [`sh -c 'echo "a b"'`, ["sh", "-c", 'echo "a b"']],
    [`a "b \\"c\\" \\$d" e`, ["a", 'b "c" $d', "e"]],
    [`a\\ b c`, ["a b", "c"]],
    [`'' ""`, ["", ""]],
    [`x$HOME`, ["x$HOME"]],
    [`echo 'open`, { error: "unclosed single quote" }],
    [`echo "open`, { error: "unclosed double quote" }],
    [`echo \\`, { error: "trailing backslash" }],
  ];
  for (const [input, want] of cases) {
    await t.step(JSON.stringify(input), () => assert.deepEqual(shellSplit(input), want));
  }
});
