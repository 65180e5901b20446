/**
 * Secrets of this process (registry passwords and tokens, `--substitute-secret` values): they must
 * reach no log line, no error message, no argv of a program we start, no cache file and no image.
 * Whoever learns one registers it here (a process-wide set on purpose: a secret known anywhere must
 * be hidden everywhere), and the sinks ask: the logger and the CLI's error line redact, the cache
 * key hashes (`mapSecretsIn`), the image writer refuses (`secretIn`).
 */

/** A registered value and how it is shown instead: `${{KEY}}` for a substitution, else a label. */
const registry = new Map<string, string>();

/** Registers `value` as a secret shown as `shownAs` (`${{KEY}}`, "<password>"). Empty values are ignored. */
export function registerSecret(value: string, shownAs: string): void {
  if (value === "" || registry.has(value)) return;
  registry.set(value, shownAs);
}

/** Whether any secret is registered. */
export function hasSecrets(): boolean {
  return registry.size > 0;
}

/** The registered secrets, longest first (so a secret containing another is replaced whole). */
function entries(): [string, string][] {
  return [...registry.entries()].sort((a, b) => b[0].length - a[0].length);
}

/** `text` with every registered secret replaced by how it is shown. */
export function redactSecrets(text: string): string {
  if (registry.size === 0) return text;
  let out = text;
  for (const [value, shownAs] of entries()) out = out.split(value).join(shownAs);
  return out;
}

/** How the first registered secret found in `text` is shown, or undefined when none is there. */
export function secretIn(text: string): string | undefined {
  for (const [value, shownAs] of entries()) if (text.includes(value)) return shownAs;
  return undefined;
}

/**
 * `v` with every string (values and keys, at any depth) holding a secret rewritten by `replace`
 * (given the secret and how it is shown), e.g. to a digest of it for a cache key.
 */
export function mapSecretsIn<T>(v: T, replace: (value: string, shownAs: string) => string): T {
  if (registry.size === 0) return v;
  const mapped = (s: string): string => {
    let out = s;
    for (const [value, shownAs] of entries()) {
      if (out.includes(value)) out = out.split(value).join(replace(value, shownAs));
    }
    return out;
  };
  const walk = (x: unknown): unknown => {
    if (typeof x === "string") return mapped(x);
    if (Array.isArray(x)) return x.map(walk);
    if (x && typeof x === "object") {
      return Object.fromEntries(Object.entries(x).map(([k, val]) => [mapped(k), walk(val)]));
    }
    return x;
  };
  return walk(v) as T;
}

/** Forgets every secret (tests). */
export function clearSecrets(): void {
  registry.clear();
}
