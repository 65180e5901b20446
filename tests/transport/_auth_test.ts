import assert from "node:assert/strict";
import { authFiles, basicAuth, lookupCredentials, parseChallenge } from "../../lib/transport/_auth.ts";

Deno.test("authFiles() lists the containers and docker files in order", () => {
  assert.deepEqual(authFiles({ REGISTRY_AUTH_FILE: "/a.json", XDG_RUNTIME_DIR: "/run/u", HOME: "/h" }), [
    "/a.json",
    "/run/u/containers/auth.json",
    "/h/.config/containers/auth.json",
    "/h/.docker/config.json",
  ]);
});

Deno.test("lookupCredentials() prefers the most specific key and the first file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/run/containers`, { recursive: true });
    await Deno.mkdir(`${dir}/home/.docker`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/run/containers/auth.json`,
      JSON.stringify({
        auths: { "r.io": { auth: btoa("host:pw1") }, "r.io/team": { auth: btoa("team:pw:2") } },
      }),
    );
    await Deno.writeTextFile(
      `${dir}/home/.docker/config.json`,
      JSON.stringify({ auths: { "https://other.io": { auth: btoa("d:pw3") } } }),
    );
    const env = { XDG_RUNTIME_DIR: `${dir}/run`, HOME: `${dir}/home` };
    assert.deepEqual(await lookupCredentials("r.io", "team/app", env), {
      username: "team",
      password: "pw:2",
    });
    assert.deepEqual(await lookupCredentials("r.io", "solo", env), { username: "host", password: "pw1" });
    assert.deepEqual(await lookupCredentials("other.io", "x", env), { username: "d", password: "pw3" });
    assert.equal(await lookupCredentials("none.io", "x", env), undefined);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseChallenge() reads Bearer and Basic challenges", () => {
  assert.deepEqual(
    parseChallenge('Bearer realm="https://a/token",service="reg",scope="repository:x:pull,push"'),
    {
      scheme: "bearer",
      params: { realm: "https://a/token", service: "reg", scope: "repository:x:pull,push" },
    },
  );
  assert.deepEqual(parseChallenge('Basic realm="r"'), { scheme: "basic", params: { realm: "r" } });
  assert.equal(parseChallenge(null), undefined);
  assert.equal(basicAuth({ username: "a", password: "b" }), `Basic ${btoa("a:b")}`);
});
