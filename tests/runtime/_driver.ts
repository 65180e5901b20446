/**
 * Test driver: runs container jobs the way the builder does, as root or (re-executing itself in a
 * user namespace first) as the unprivileged test user. Usage: _driver.ts JOB.json, where the job is
 * `{ specs: RunSpec[], out: string, parallel?: boolean }`; writes one result per spec to `out` as JSON.
 */
import { needsUserns, reexecInUserns, runInContainer } from "../../lib/runtime/mod.ts";

const deno = [Deno.execPath(), "run", "-A", "--cached-only"];
const here = new URL(".", import.meta.url).pathname;
const env = Deno.env.toObject();
const internal = Deno.args.includes("--internal-userns");
const args = Deno.args.filter((a) => a !== "--internal-userns");

if (needsUserns({ env, internalUserns: internal })) {
  Deno.exit(await reexecInUserns(args, { env, command: [...deno, `${here}_driver.ts`] }));
}
const job = JSON.parse(await Deno.readTextFile(args[0]));
const dec = new TextDecoder();
type Spec = Parameters<typeof runInContainer>[0];
const runOne = (spec: Spec) =>
  runInContainer(spec, {
    helper: [...deno, `${here}_helper_main.ts`],
    stdout: "piped",
    stderr: "piped",
  }).then(
    (r) => ({
      exitCode: r.exitCode,
      signal: r.signal,
      stdout: dec.decode(r.stdout),
      stderr: dec.decode(r.stderr),
    }),
    (e) => ({ error: e.message, code: e.code }),
  );
// Containers that share a rootfs run one after the other (as a build's do); `parallel` jobs give
// each container its own rootfs.
const results = [];
if (job.parallel) results.push(...await Promise.all(job.specs.map(runOne)));
else for (const spec of job.specs) results.push(await runOne(spec));
await Deno.writeTextFile(job.out, JSON.stringify(results));
