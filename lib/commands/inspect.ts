/** `stacker inspect [TAG] [--json]`: the images in the output layout. */
import { formatInspect, inspectImages, inspectJson, openLayout } from "../build/mod.ts";
import type { CommandDef } from "./types.ts";

export const inspectCommand: CommandDef = {
  name: "inspect",
  summary: "show the images in the output layout",
  usage: "[TAG] [--json]",
  flags: [{ name: "json", type: "boolean", help: "machine-readable output" }],
  async run(ctx) {
    const layout = await openLayout(ctx.global.ociDir);
    const images = await inspectImages(layout, ctx.args[0]);
    ctx.print(ctx.flags.json ? inspectJson(images) : formatInspect(images).trimEnd());
    return 0;
  },
};
