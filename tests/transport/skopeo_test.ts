import assert from "node:assert/strict";
import { busyboxLayout } from "../../scripts/fixtures/mod.ts";
import { OciLayout } from "../../lib/oci/mod.ts";
import { skopeoCopy } from "../../lib/transport/mod.ts";
import { OciError } from "../../lib/util/errors.ts";
import { silentLogger } from "../../lib/util/log.ts";

Deno.test("skopeoCopy() copies through skopeo and reports its stderr on failure", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const f = await busyboxLayout();
    await skopeoCopy(`oci:${f.dir}:${f.tag}`, `docker-archive:${dir}/a.tar`, { log: silentLogger });
    await skopeoCopy(`docker-archive:${dir}/a.tar`, `oci:${dir}/back:t`, {
      log: silentLogger,
      os: "linux",
      arch: "amd64",
    });
    const img = await (await OciLayout.open(`${dir}/back`)).imageOf("t");
    const fixture = await (await OciLayout.open(f.dir)).imageOf(f.tag);
    assert.deepEqual(img.config.rootfs.diff_ids, fixture.config.rootfs.diff_ids);
    await assert.rejects(
      skopeoCopy(`dir:${dir}/nothing`, `oci:${dir}/x:t`, { log: silentLogger }),
      (e: unknown) => e instanceof OciError && e.code === "transport.skopeo-failed" && e.message.length > 40,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
