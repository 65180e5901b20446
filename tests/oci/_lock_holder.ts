// Test helper: holds an flock on Deno.args[0] until killed, printing "locked" once it has it.
const f = await Deno.open(Deno.args[0], { read: true, write: true, create: true });
await f.lock(true);
await Deno.stdout.write(new TextEncoder().encode("locked\n"));
setInterval(() => {}, 1 << 30); // keep the process (and the lock) alive
