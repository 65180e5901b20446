/**
 * Test helper: independent checks of an OCI layout that several processes wrote: every blob's bytes
 * match its name, every descriptor reachable from index.json has its blob, and each tag passes
 * `umoci stat` and `skopeo inspect` (the reference tools read it as the spec says).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";

interface Desc {
  mediaType: string;
  digest: string;
  annotations?: Record<string, string>;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  const f = await Deno.open(path);
  for await (const chunk of f.readable) h.update(chunk);
  return h.digest("hex");
}

/** Tag → manifest digest of the layout at `dir`. */
export async function layoutTags(dir: string): Promise<Map<string, string>> {
  const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`)) as { manifests: Desc[] };
  return new Map(
    index.manifests.flatMap((d) => {
      const name = d.annotations?.["org.opencontainers.image.ref.name"];
      return name === undefined ? [] : [[name, d.digest] as [string, string]];
    }),
  );
}

/**
 * Asserts that every blob verifies, every reachable descriptor has its blob, and every tag in
 * `tags` resolves and passes umoci and skopeo. Returns the number of blobs.
 */
export async function checkLayout(dir: string, tags: readonly string[]): Promise<number> {
  let blobs = 0;
  for await (const e of Deno.readDir(`${dir}/blobs/sha256`)) {
    assert.equal(await sha256File(`${dir}/blobs/sha256/${e.name}`), e.name, `blob ${e.name} does not verify`);
    blobs++;
  }
  const index = JSON.parse(await Deno.readTextFile(`${dir}/index.json`)) as { manifests: Desc[] };
  const queue = [...index.manifests];
  const seen = new Set<string>();
  while (queue.length > 0) {
    const d = queue.pop()!;
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    const path = `${dir}/blobs/sha256/${d.digest.slice(7)}`;
    const st = await Deno.stat(path).catch(() => undefined);
    assert.ok(st?.isFile, `${d.mediaType} ${d.digest} is referenced but missing`);
    if (d.mediaType.endsWith("manifest.v1+json") || d.mediaType.endsWith("manifest.v2+json")) {
      const m = JSON.parse(await Deno.readTextFile(path)) as { config: Desc; layers: Desc[] };
      queue.push(m.config, ...m.layers);
    }
  }
  const present = await layoutTags(dir);
  for (const tag of tags) {
    assert.ok(present.has(tag), `tag ${tag} was reported written but is not in index.json`);
    for (
      const argv of [["umoci", "stat", "--image", `${dir}:${tag}`], [
        "skopeo",
        "inspect",
        `oci:${dir}:${tag}`,
      ]]
    ) {
      const r = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "null", stderr: "piped" })
        .output();
      assert.equal(r.code, 0, `${argv.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
    }
  }
  return blobs;
}
