/**
 * Helper process for the storage benchmark: `prepare <backend> <rootsDir> <stackerDir> <name>`
 * hands out a writable rootfs of the (already unpacked) Debian fixture; `unpack` unpacks it once.
 */
import { openStorage } from "../../lib/storage/mod.ts";
import { OciLayout } from "../../lib/oci/mod.ts";
import { unpackLayer } from "../../lib/layer/mod.ts";
import { silentLogger } from "../../lib/util/log.ts";
import { debianLayout } from "../fixtures/mod.ts";
import type { Digest } from "../../lib/oci/types.ts";

const [op, type, rootsDir, stackerDir, name] = Deno.args;
const fx = await debianLayout();
const layout = await OciLayout.open(fx.dir);
const img = await layout.imageOf(fx.tag);
const chain = img.manifest.layers.map((l) => l.digest as Digest);
const storage = await openStorage({
  rootsDir,
  stackerDir,
  type: type as "overlay" | "copy" | "btrfs",
  log: silentLogger,
});
if (op === "unpack") {
  await storage.ensureLayers(
    chain,
    (dir, whiteouts, i) =>
      unpackLayer(() => layout.openBlob(img.manifest.layers[i]), dir, {
        mediaType: img.manifest.layers[i].mediaType,
        diffId: img.config.rootfs.diff_ids[i],
        whiteouts,
      }).then(() => {}),
  );
} else {
  await storage.prepare(name, { chain });
  await storage.commit(name);
}
