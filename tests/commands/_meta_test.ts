import assert from "node:assert/strict";
import * as meta from "../../lib/commands/_meta.ts";
import { GLOBAL_FLAGS } from "../../lib/commands/_flags.ts";
import type { CommandMeta } from "../../lib/commands/types.ts";

const ALL: CommandMeta[] = Object.values(meta);

Deno.test("_meta.ts exports one metadata object per command name", () => {
  const names = ALL.map((m) => m.name);
  assert.ok(names.length >= 13);
  assert.deepEqual(names.filter((n, i) => names.indexOf(n) !== i), []);
});

Deno.test("no command flag shadows a global flag or repeats a name or alias within its command", () => {
  // parseArgs() looks flags up in globals first: a command flag with a global's name would never be set.
  const globalNames = new Set(
    GLOBAL_FLAGS.flatMap((f) => [`--${f.name}`, ...(f.alias ? [`-${f.alias}`] : [])]),
  );
  for (const m of ALL) {
    const own = m.flags.flatMap((f) => [`--${f.name}`, ...(f.alias ? [`-${f.alias}`] : [])]);
    assert.deepEqual(own.filter((n) => globalNames.has(n)), [], m.name);
    assert.deepEqual(own.filter((n, i) => own.indexOf(n) !== i), [], m.name);
  }
});
