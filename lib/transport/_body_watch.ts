/**
 * Response bodies that fail instead of hanging: no chunk for a whole window is "idle", less than
 * MIN_BYTES_PER_WINDOW over a full window of waiting is "stalled". Only time spent waiting for the
 * network counts, never time the consumer takes between reads.
 */
import { type Clock, systemClock } from "../util/clock.ts";

/**
 * Below this many bytes per window of waiting, a body counts as stalled: a server that drips a
 * byte every few seconds never trips a pure idle timeout (skopeo waits forever on one). 1 KiB per
 * window is far below any real link, so only a deliberately dribbling peer hits it.
 */
export const MIN_BYTES_PER_WINDOW = 1024;

/**
 * `res` with a body that errors when one wait for the network lasts `windowMs` ("no data for …")
 * or when a full window of accumulated waiting brought fewer than MIN_BYTES_PER_WINDOW
 * ("stalled: …"). The stall rule is judged only when a read completes a full window, so a peer
 * that goes silent is always reported as idle, whatever waits came before. One unref'd watchdog
 * per body (not a timer per chunk: bodies arrive in thousands of chunks).
 */
export function watchBody(res: Response, windowMs: number, clock: Clock = systemClock): Response {
  if (!res.body) return res;
  const reader = res.body.getReader();
  let waitingSince: number | undefined;
  let windowWait = 0, windowBytes = 0;
  let failure: Error | undefined;
  const stop = () => watchdog.cancel();
  const watchdog = clock.timer(
    () => {
      if (waitingSince === undefined || clock.now() - waitingSince < windowMs) return;
      failure ??= new Error(`no data for ${windowMs} ms`);
      stop();
      reader.cancel(failure).catch(() => {});
    },
    Math.max(10, Math.min(windowMs, 2000) / 4),
    { repeat: true, unref: true },
  );
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        waitingSince = clock.now();
        const r = await reader.read();
        windowWait += clock.now() - waitingSince;
        waitingSince = undefined;
        if (failure) throw failure;
        if (r.done) {
          stop();
          controller.close();
          return;
        }
        windowBytes += r.value.byteLength;
        if (windowWait >= windowMs) {
          if (windowBytes < MIN_BYTES_PER_WINDOW) {
            throw new Error(
              `stalled: ${windowBytes} bytes in ${windowMs} ms (fewer than ${MIN_BYTES_PER_WINDOW})`,
            );
          }
          windowWait = 0;
          windowBytes = 0;
        }
        controller.enqueue(r.value);
      } catch (err) {
        stop();
        reader.cancel(err).catch(() => {});
        controller.error(err);
      }
    },
    cancel(reason) {
      stop();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
}
