import assert from "node:assert/strict";
import { resolveWorkdir, RunScript, runUser } from "../../lib/convert/_run_script.ts";

Deno.test("RunScript puts deferred lines before the next RUN or WORKDIR, once", () => {
  const s = new RunScript();
  assert.equal(s.ran, false);
  s.defer("export A=1");
  assert.deepEqual(s.lines, [], "a deferred line alone is not in the script");
  s.run("mkdir /a && echo it's", undefined);
  s.defer("export B=2");
  s.changeDir("/my dir");
  s.run("id -u", "app");
  assert.equal(s.ran, true);
  assert.deepEqual(s.lines, [
    "export A=1",
    `sh -e -c 'mkdir -p /a && echo it'"'"'s'`,
    "export B=2",
    "mkdir -p '/my dir'",
    "cd '/my dir'",
    "su -p app -c 'id -u'",
  ]);
});

Deno.test("RunScript of a built stage replays the parent's exports and directory before its first command", () => {
  const s = new RunScript(["export A=1"], "/w");
  s.run("pwd", undefined);
  assert.deepEqual(s.lines, ["export A=1", "cd /w", "sh -e -c 'pwd'"]);
  const top = new RunScript(["export A=1"], "/");
  top.run("pwd", undefined);
  assert.deepEqual(top.lines, ["export A=1", "sh -e -c 'pwd'"], "no cd for /");
  const exports = ["export X=1"];
  const copy = new RunScript(exports);
  copy.defer("export Y=2");
  assert.deepEqual(exports, ["export X=1"], "the parent's list is not changed");
});

Deno.test("resolveWorkdir() resolves relative paths against the current one and normalizes", () => {
  assert.equal(resolveWorkdir("/", "srv"), "/srv");
  assert.equal(resolveWorkdir("/srv", "my app/../app/"), "/srv/app");
  assert.equal(resolveWorkdir("/srv", "/opt//x/."), "/opt/x");
  assert.equal(resolveWorkdir("/a/b", ".."), "/a");
});

Deno.test("runUser() drops the group, and root needs no su", () => {
  assert.equal(runUser("app:staff"), "app");
  assert.equal(runUser("1000:1000"), "1000");
  assert.equal(runUser("root"), undefined);
  assert.equal(runUser("0:0"), undefined);
});
