/**
 * Progress for long transfers: a redrawn bar per item on a terminal, and one summary line per item
 * otherwise (so CI logs stay readable). Callers report bytes; the reporter decides how to show them.
 */
import type { Logger } from "./log.ts";

export interface ProgressItem {
  /** Adds `n` bytes done. */
  advance(n: number): void;
  /** Marks the item finished and prints its summary line. */
  done(note?: string): void;
}

export interface Progress {
  item(label: string, total?: number): ProgressItem;
}

function human(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
export { human as humanSize };

export interface ProgressOptions {
  /** Draw bars (true on a terminal); otherwise one line per finished item through `log`. */
  readonly bars: boolean;
  readonly log: Logger;
  /** Where bars are drawn (default stderr). */
  readonly write?: (text: string) => void;
}

export function makeProgress(opts: ProgressOptions): Progress {
  const enc = new TextEncoder();
  const write = opts.write ?? ((t: string) => Deno.stderr.writeSync(enc.encode(t)));
  return {
    item(label, total) {
      let doneBytes = 0;
      let last = 0;
      const started = performance.now();
      const draw = (final: boolean) => {
        const pct = total ? Math.min(100, Math.floor((doneBytes / total) * 100)) : undefined;
        const width = 24;
        const filled = pct === undefined ? 0 : Math.round((pct / 100) * width);
        const bar = pct === undefined ? "" : `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${pct}% `;
        write(`\r${label} ${bar}${human(doneBytes)}${total ? ` / ${human(total)}` : ""}${final ? "\n" : ""}`);
      };
      return {
        advance(n) {
          doneBytes += n;
          if (!opts.bars) return;
          const now = performance.now();
          if (now - last > 100) {
            last = now;
            draw(false);
          }
        },
        done(note) {
          if (opts.bars) {
            draw(true);
            return;
          }
          const secs = ((performance.now() - started) / 1000).toFixed(1);
          opts.log.info(`${label}: ${human(doneBytes)} in ${secs}s${note ? ` (${note})` : ""}`);
        },
      };
    },
  };
}
