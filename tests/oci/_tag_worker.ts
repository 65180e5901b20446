// Test helper: `_tag_worker.ts <layout> <prefix> <count>` tags the layout's one blob under
// `<prefix>-<i>` for i < count (or forever when count is 0), as a separate process would. Prints
// "tagged" once its first tag is written, so a test can kill it among real updates.
import { OciLayout } from "../../lib/oci/mod.ts";

const [dir, prefix, countArg] = Deno.args;
const layout = await OciLayout.open(dir);
const desc = JSON.parse(await Deno.readTextFile(`${dir}/desc.json`));
const count = Number(countArg);
for (let i = 0; count === 0 || i < count; i++) {
  await layout.tag(`${prefix}-${count === 0 ? i % 50 : i}`, desc);
  if (i === 0) await Deno.stdout.write(new TextEncoder().encode("tagged\n"));
}
