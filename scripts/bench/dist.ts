/**
 * The dist file (scripts/dist.ts): its first run (extraction and hash check, target ≤ 3 s) beside
 * plain `gzip -dc | tar -x` of the same payload, and a later start of `stacker version` (target
 * ≤ 10 ms over `deno run` of the same command) beside `deno run cli.ts version` from the checkout.
 * Its size (target ≤ 60 MB) is printed when the benchmark starts.
 */
import type { Benchmark } from "./_types.ts";

const root = new URL("../..", import.meta.url).pathname.replace(/\/$/, "");

const bench: Benchmark = {
  name: "dist",
  describe: "dist file: first run (extraction) beside gzip|tar, later start beside deno run",
  async setup() {
    const { distFile } = await import("../fixtures/mod.ts");
    const file = await distFile();
    const size = (await Deno.stat(file)).size;
    // deno-lint-ignore no-console
    console.error(`bench dist: ${file}: ${(size / 1e6).toFixed(1)} MB (target ≤ 60 MB)`);
    const head = new TextDecoder().decode((await Deno.readFile(file)).subarray(0, 4096));
    const off = head.match(/^OFF=(\d+)$/m)![1];
    const tmp = await Deno.makeTempDir({ prefix: "bench-dist-" });
    const first = `${tmp}/first`;
    const later = `${tmp}/later`;
    const raw = `${tmp}/raw`;
    const fresh = (dir: string) => async () => {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
      await Deno.mkdir(dir, { recursive: true });
    };
    const env = (cache: string) => ({ PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin", XDG_CACHE_HOME: cache });
    const cwd = `${tmp}/cwd`;
    await Deno.mkdir(cwd);
    return {
      cases: [
        {
          label: "first run (extract + verify)",
          ours: { argv: [file, "--dist-extract"], env: env(first), before: fresh(first) },
          reference: {
            argv: ["sh", "-c", `tail -c +${off} "$1" | gzip -dc | tar -xf - -C "$2"`, "sh", file, raw],
            before: fresh(raw),
          },
          referenceName: "gzip -dc | tar -x",
        },
        {
          label: "later start: version",
          ours: { argv: [file, "version"], env: env(later), cwd },
          reference: {
            argv: [
              Deno.execPath(),
              "run",
              "--allow-read",
              "--allow-env",
              "--allow-run=deno",
              `${root}/cli.ts`,
              "version",
            ],
            cwd,
          },
          referenceName: "deno run cli.ts version",
        },
      ],
      cleanup: () => Deno.remove(tmp, { recursive: true }),
    };
  },
};
export default bench;
