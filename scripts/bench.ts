/**
 * `deno task bench [name…] [--runs N] [--warmup N]`: runs the named benchmarks (all when none are
 * named) from scripts/bench/<name>.ts. Each case times our command and a reference command doing the
 * same work as whole processes, alternating A B A B after a warm-up, and prints medians, min–max
 * spreads and the ratio ours/reference (median of the per-pair ratios, robust to drift).
 */
import type { BenchCmd, Benchmark } from "./bench/_types.ts";

const args = [...Deno.args];
function takeFlag(name: string, def: number): number {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = Number(args[i + 1]);
  args.splice(i, 2);
  return Number.isFinite(v) && v > 0 ? v : def;
}
const runs = takeFlag("--runs", 5);
const warmup = takeFlag("--warmup", 1);

const benchDir = new URL("./bench/", import.meta.url).pathname;
const available = [...Deno.readDirSync(benchDir)]
  .filter((e) => e.isFile && e.name.endsWith(".ts") && !e.name.startsWith("_"))
  .map((e) => e.name.slice(0, -3))
  .sort();
const names = args.length ? args : available;
for (const n of names) {
  if (!available.includes(n)) {
    // deno-lint-ignore no-console
    console.error(`bench: unknown benchmark "${n}"; available: ${available.join(", ")}`);
    Deno.exit(2);
  }
}

async function timeOnce(cmd: BenchCmd): Promise<number> {
  if (cmd.before) await cmd.before();
  const t0 = performance.now();
  const out = await new Deno.Command(cmd.argv[0], {
    args: cmd.argv.slice(1),
    cwd: cmd.cwd,
    env: cmd.env,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  if (!out.success) {
    throw new Error(
      `"${cmd.argv.join(" ")}" failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr)}`,
    );
  }
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const fmt = (ms: number) => ms >= 1000 ? `${(ms / 1000).toFixed(2)}s` : `${ms.toFixed(1)}ms`;

const rows: string[][] = [[
  "benchmark",
  "case",
  "ours median (min–max)",
  "reference",
  "ref median (min–max)",
  "ours/ref",
]];
for (const name of names) {
  const mod = (await import(`./bench/${name}.ts`)).default as Benchmark;
  // deno-lint-ignore no-console
  console.error(`bench ${mod.name}: ${mod.describe}`);
  const { cases, cleanup } = await mod.setup();
  try {
    for (const c of cases) {
      for (let i = 0; i < warmup; i++) {
        await timeOnce(c.ours);
        await timeOnce(c.reference);
      }
      const a: number[] = [], b: number[] = [], r: number[] = [];
      for (let i = 0; i < runs; i++) {
        const ta = await timeOnce(c.ours);
        const tb = await timeOnce(c.reference);
        a.push(ta);
        b.push(tb);
        r.push(ta / tb);
      }
      rows.push([
        mod.name,
        c.label,
        `${fmt(median(a))} (${fmt(Math.min(...a))}–${fmt(Math.max(...a))})`,
        c.referenceName ?? c.reference.argv[0],
        `${fmt(median(b))} (${fmt(Math.min(...b))}–${fmt(Math.max(...b))})`,
        median(r).toFixed(2),
      ]);
    }
  } finally {
    await cleanup?.();
  }
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
for (const r of rows) {
  // deno-lint-ignore no-console
  console.log(r.map((c, i) => c.padEnd(widths[i])).join("  "));
}
// deno-lint-ignore no-console
console.log(`(${runs} timed runs per command after ${warmup} warm-up; ratio < 1 means ours is faster)`);
