/** `stacker inspect [TAG] [--json]`: the images in the output layout. */
// Reading a layout needs neither the builder nor storage: lib/builder's barrel would load all of it
// (~90 ms: yaml, zod, storage, layer), so inspect takes its one pure module and the layout directly.
import { formatInspect, inspectImages, inspectJson } from "../builder/inspect.ts";
import { OciLayout } from "../oci/mod.ts";
import { INSPECT_META } from "./_meta.ts";
import type { CommandDef } from "./types.ts";

export const inspectCommand: CommandDef = {
  ...INSPECT_META,
  async run(ctx) {
    const layout = await OciLayout.open(ctx.global.ociDir);
    const images = await inspectImages(layout, ctx.args[0]);
    ctx.print(ctx.flags.json ? inspectJson(images) : formatInspect(images).trimEnd());
    return 0;
  },
};
