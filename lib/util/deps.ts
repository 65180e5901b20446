/**
 * The one place npm dependencies are imported, with fully qualified, pinned specifiers, so that
 * `deno run <url>/cli.ts` works without the project's deno.json. Keep versions in step with deno.json.
 */
export * as YAML from "npm:yaml@2.9.1";
export { z } from "npm:zod@4.6.7";
export { $ } from "npm:dax-sh@0.44.1";
