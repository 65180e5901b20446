/**
 * The one place npm dependencies of the program are imported, with fully qualified, pinned
 * specifiers, so that `deno run <url>/cli.ts` works without the project's deno.json. Keep versions
 * in step with deno.json. (dax-sh is pinned there for scripts; the program itself does not load it.)
 */
export * as YAML from "npm:yaml@2.9.1";
export { z } from "npm:zod@4.6.7";
