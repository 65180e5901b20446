import assert from "node:assert/strict";
import {
  clearSecrets,
  hasSecrets,
  mapSecretsIn,
  redactSecrets,
  registerSecret,
  secretIn,
} from "../../lib/util/secrets.ts";
import { memoryLogger } from "../../lib/util/log.ts";

Deno.test("registered secrets are redacted, found and mapped; the logger never prints one", () => {
  clearSecrets();
  try {
    assert.equal(hasSecrets(), false);
    registerSecret("hunter2", "${{PW}}");
    registerSecret("hunter2-long", "<password>");
    registerSecret("", "<ignored>");
    assert.equal(redactSecrets("a hunter2 b hunter2-long"), "a ${{PW}} b <password>");
    assert.equal(secretIn("x hunter2 y"), "${{PW}}");
    assert.equal(secretIn("nothing"), undefined);
    assert.deepEqual(
      mapSecretsIn({ k: ["hunter2"], "hunter2": 1 }, (_v, shown) => `[${shown}]`),
      { k: ["[${{PW}}]"], "[${{PW}}]": 1 },
    );
    const { log, lines } = memoryLogger();
    log.info("token hunter2", { field: "hunter2" });
    assert.deepEqual(lines, ["token ${{PW}} field=${{PW}}"]);
  } finally {
    clearSecrets();
  }
});
