/**
 * Worker for parallel gzip: compresses one block per message into one complete gzip member.
 * Message in: { id, level, data: Uint8Array }; out: { id, out: Uint8Array } or { id, error }.
 */
import { gzipBlock } from "./_compression.ts";

interface Job {
  id: number;
  level: number;
  data: Uint8Array;
}

const scope = self as unknown as {
  onmessage: ((e: MessageEvent<Job>) => void) | null;
  postMessage(msg: unknown, transfer?: Transferable[]): void;
};

scope.onmessage = (e: MessageEvent<Job>) => {
  const { id, level, data } = e.data;
  try {
    const out = gzipBlock(data, level).slice();
    scope.postMessage({ id, out }, [out.buffer]);
  } catch (error) {
    scope.postMessage({ id, error: String(error) });
  }
};
