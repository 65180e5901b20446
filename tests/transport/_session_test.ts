import assert from "node:assert/strict";
import { isLoopback } from "../../lib/transport/_session.ts";

Deno.test("isLoopback() knows localhost, 127.0.0.0/8 and ::1 (bare or bracketed), with or without a port", async (t) => {
  const cases: [string, boolean][] = [
    ["localhost", true],
    ["localhost:5000", true],
    ["127.0.0.1", true],
    ["127.1.2.3:443", true],
    ["[::1]:5000", true],
    ["[::1]", true],
    ["registry-1.docker.io", false],
    ["10.0.0.1:5000", false],
    ["localhost.example.com", false],
    ["[::2]:5000", false],
    ["::1", true],
    ["::2", false],
    ["fe80::1", false],
  ];
  for (const [registry, want] of cases) {
    await t.step(`${registry} -> ${want}`, () => assert.equal(isLoopback(registry), want));
  }
});
