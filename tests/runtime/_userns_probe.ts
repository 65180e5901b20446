/** Test probe: re-executes itself in the user namespace and prints what it sees there as JSON. */
import { needsUserns, reexecInUserns } from "../../lib/runtime/mod.ts";

const env = Deno.env.toObject();
const internal = Deno.args.includes("--internal-userns");
if (needsUserns({ env, internalUserns: internal })) {
  const self = [Deno.execPath(), "run", "-A", "--cached-only", new URL(import.meta.url).pathname];
  Deno.exit(await reexecInUserns(Deno.args, { env, command: self }));
}
const status = await Deno.readTextFile("/proc/self/status");
const line = (k: string) => status.split("\n").find((l) => l.startsWith(k))!.split(/\s+/).slice(1);
Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify({
  args: Deno.args,
  uid: line("Uid:")[0],
  uidMap: (await Deno.readTextFile("/proc/self/uid_map")).trim().split("\n").map((l) =>
    l.trim().split(/\s+/)
  ),
  gidMap: (await Deno.readTextFile("/proc/self/gid_map")).trim().split("\n").map((l) =>
    l.trim().split(/\s+/)
  ),
  realUid: env.STACKER_REAL_UID,
})));
Deno.exit(Number(Deno.args.find((a) => a.startsWith("exit="))?.slice(5) ?? 0));
