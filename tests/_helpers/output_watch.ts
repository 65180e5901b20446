/**
 * Test helper: reads a child's output stream as it comes, so a test can wait for a line (a lock
 * waiter's "waiting for lock …", a build's "filesystem x built") instead of sleeping.
 */

export interface OutputWatch {
  /** Everything read so far. */
  text(): string;
  /** Resolves with the text so far once it matches `re`; rejects when the stream ends without it. */
  waitFor(re: RegExp): Promise<string>;
  /** Resolves with the whole output when the stream ends. */
  readonly done: Promise<string>;
}

export function watchOutput(stream: ReadableStream<Uint8Array>): OutputWatch {
  let text = "";
  let ended = false;
  const waiters: { re: RegExp; resolve: (t: string) => void; reject: (e: Error) => void }[] = [];
  const settle = () => {
    for (const w of [...waiters]) {
      if (w.re.test(text)) w.resolve(text);
      else if (ended) w.reject(new Error(`output ended without ${w.re}:\n${text}`));
      else continue;
      waiters.splice(waiters.indexOf(w), 1);
    }
  };
  const done = (async () => {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      text += dec.decode(chunk, { stream: true });
      settle();
    }
    ended = true;
    settle();
    return text;
  })();
  return {
    text: () => text,
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        waiters.push({ re, resolve, reject });
        settle();
      }),
    done,
  };
}
