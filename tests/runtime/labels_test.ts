/** generateLabels(): files left in /stacker/oci-labels become labels (as root). */
import assert from "node:assert/strict";
import { generateLabels } from "../../lib/runtime/mod.ts";
import { RuntimeError } from "../../lib/util/errors.ts";
import { makeBusyboxRootfs } from "../../scripts/fixtures/mod.ts";

const HELPER = [
  Deno.execPath(),
  "run",
  "-A",
  "--cached-only",
  new URL("./_helper_main.ts", import.meta.url).pathname,
];

Deno.test("generateLabels() turns each file the script writes into a label, verbatim", async () => {
  const base = await Deno.makeTempDir({ dir: "/tmp", prefix: "stacker-lb-" });
  try {
    await Deno.chmod(base, 0o755);
    await makeBusyboxRootfs(`${base}/rootfs`);
    await Deno.writeTextFile(`${base}/rootfs/etc/os-version`, "1.2.3");
    const opts = {
      layer: "labelled",
      lxcRootfs: { path: `dir:${base}/rootfs` },
      stackerDir: `${base}/.stacker`,
      env: { PATH: "/bin:/usr/bin" },
      helper: HELPER,
    };
    const labels = await generateLabels({
      ...opts,
      script: [
        "cp /etc/os-version /stacker/oci-labels/org.example.version",
        "printf 'two\\nlines\\n' > /stacker/oci-labels/multi",
        "ln -s /etc/passwd /stacker/oci-labels/link",
      ],
    });
    assert.deepEqual(labels, { multi: "two\nlines\n", "org.example.version": "1.2.3" });
    await assert.rejects(generateLabels({ ...opts, script: "exit 4" }), RuntimeError);
    // Nothing is left in the stacker dir.
    assert.deepEqual(
      (await Array.fromAsync(Deno.readDir(`${base}/.stacker`))).map((e) => e.name).filter((n) =>
        n.startsWith(".labels")
      ),
      [],
    );
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
