/** buildEnvironment(): spec §1.10. */
import assert from "node:assert/strict";
import { buildEnvironment, DEFAULT_PATH } from "../../lib/runtime/mod.ts";
import { RuntimeError } from "../../lib/util/errors.ts";

const host = {
  http_proxy: "http://proxy:3128",
  HTTPS_PROXY: "http://proxy:3129",
  TERM: "xterm",
  SOURCE_DATE_EPOCH: "1700000000",
  HOME: "/root",
  SECRET_TOKEN: "s3cret",
  no_proxy: "",
  MY_VAR: "mine",
  MY_OTHER: "other",
};

Deno.test("buildEnvironment() passes the default list through, skips empty values, ends with the layer name", () => {
  assert.deepEqual(buildEnvironment({ name: "l1" }, host), {
    PATH: DEFAULT_PATH,
    HTTPS_PROXY: "http://proxy:3129",
    SOURCE_DATE_EPOCH: "1700000000",
    TERM: "xterm",
    http_proxy: "http://proxy:3128",
    STACKER_LAYER_NAME: "l1",
  });
});

Deno.test("buildEnvironment() matches build_env_passthrough regexes against whole names", () => {
  const env = buildEnvironment({ name: "l2", buildEnvPassthrough: ["MY_.*", "TER"] }, host);
  assert.deepEqual(env, { PATH: DEFAULT_PATH, MY_OTHER: "other", MY_VAR: "mine", STACKER_LAYER_NAME: "l2" });
});

Deno.test("buildEnvironment() lets build_env override passthrough and PATH; STACKER_LAYER_NAME wins", () => {
  const env = buildEnvironment({
    name: "l3",
    buildEnv: { TERM: "dumb", PATH: "/opt/bin", STACKER_LAYER_NAME: "fake", EMPTY: "" },
  }, host);
  assert.equal(env.TERM, "dumb");
  assert.equal(env.PATH, "/opt/bin");
  assert.equal(env.STACKER_LAYER_NAME, "l3");
  assert.ok(!("EMPTY" in env));
  assert.ok(!("SECRET_TOKEN" in env));
});

Deno.test("buildEnvironment() refuses a passthrough pattern that is not a regex", () => {
  assert.throws(() => buildEnvironment({ name: "l4", buildEnvPassthrough: ["("] }, host), RuntimeError);
});
