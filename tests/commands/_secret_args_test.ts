import assert from "node:assert/strict";
import {
  restoreSecretArgs,
  SECRET_ARGS_ENV,
  secretSubstitutions,
  splitSecretArgs,
} from "../../lib/commands/_secret_args.ts";
import { clearSecrets, secretIn } from "../../lib/util/secrets.ts";

Deno.test("splitSecretArgs() keeps secret values out of argv and restoreSecretArgs() puts them back", () => {
  const argv = [
    "--debug",
    "publish",
    "--password",
    "pw",
    "--password=pw2",
    "--substitute-secret",
    "K=V",
    "--substitute-secret=L=W",
    "--substitute-secret",
    "FROM_ENV",
    "--substitute",
    "A=B",
    "--",
    "--password",
    "x",
  ];
  const { argv: shown, secret } = splitSecretArgs(argv);
  assert.deepEqual(shown, [
    "--debug",
    "publish",
    "--substitute-secret",
    "FROM_ENV",
    "--substitute",
    "A=B",
    "--",
    "--password",
    "x",
  ]);
  assert.deepEqual(secret, [
    "--password",
    "pw",
    "--password=pw2",
    "--substitute-secret",
    "K=V",
    "--substitute-secret=L=W",
  ]);
  const back = restoreSecretArgs(shown, { [SECRET_ARGS_ENV]: JSON.stringify(secret), HOME: "/h" });
  assert.deepEqual(back.env, { HOME: "/h" });
  assert.deepEqual(back.argv.slice(0, 6), [...shown.slice(0, 6)]);
  assert.deepEqual(back.argv.slice(6, 12), secret);
  assert.deepEqual(back.argv.slice(12), ["--", "--password", "x"]);
});

Deno.test("secretSubstitutions() takes KEY=VALUE or KEY from the environment and registers the values", () => {
  clearSecrets();
  try {
    const subs = secretSubstitutions({ "substitute-secret": ["A=one-secret", "B"] }, { B: "two-secret" });
    assert.deepEqual(subs, ["A=one-secret", "B=two-secret"]);
    assert.equal(secretIn("x two-secret"), "${{B}}");
    assert.throws(() => secretSubstitutions({ "substitute-secret": ["MISSING"] }, {}), /KEY=VALUE, or KEY/);
  } finally {
    clearSecrets();
  }
});
