/**
 * A run's output when secrets are registered: the script may print one (a `set -x` trace of a line
 * that uses it does), so its stdout/stderr pass through us line by line with every secret replaced
 * before they reach the terminal or the log, instead of being inherited.
 */
import { hasSecrets, redactSecrets } from "../util/secrets.ts";

/** Whether output that would be inherited must be filtered. */
export function mustRedact(mode: string | undefined, interactive: boolean | undefined): boolean {
  return (mode ?? "inherit") === "inherit" && !interactive && hasSecrets();
}

/** Longest piece held back waiting for a newline (a longer line is flushed in pieces). */
const MAX_LINE = 64 * 1024;

/** Copies `from` to `to` with secrets redacted, a line at a time; resolves at end of stream. */
export async function pumpRedacted(
  from: ReadableStream<Uint8Array>,
  to: { writeSync(p: Uint8Array): number },
): Promise<void> {
  const dec = new TextDecoder();
  const enc = new TextEncoder();
  const write = (s: string) => {
    const bytes = enc.encode(redactSecrets(s));
    for (let off = 0; off < bytes.length;) off += to.writeSync(bytes.subarray(off));
  };
  let pending = "";
  for await (const chunk of from) {
    pending += dec.decode(chunk, { stream: true });
    const nl = pending.lastIndexOf("\n");
    if (nl >= 0) {
      write(pending.slice(0, nl + 1));
      pending = pending.slice(nl + 1);
    }
    if (pending.length > MAX_LINE) {
      write(pending);
      pending = "";
    }
  }
  pending += dec.decode();
  if (pending) write(pending);
}
