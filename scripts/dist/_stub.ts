/**
 * The POSIX-sh stub at the head of a dist file. It needs only what every glibc Linux has (sh,
 * coreutils, GNU find, gzip, tar) and does, in order:
 *   1. `D=${XDG_CACHE_HOME:-$HOME/.cache}/stacker-ts/<sha256 of the payload>`;
 *   2. if `D/.fingerprint` (path, size, inode and change time of every file, taken right after the
 *      hashes were checked) still matches: go on (a few ms);
 *   3. else if D exists and every file matches `SHA256SUMS`, whose own hash is baked in here:
 *      take a new fingerprint (a backup/restore changes change times, not contents);
 *   4. else extract the payload (a gzip'd tar after the stub) into a temp dir next to D, check every
 *      file's sha256, fingerprint it, and rename it to D in one step (a corrupt D is moved away
 *      first). An interrupted extraction leaves only a temp dir, never a partial D;
 *   5. `exec D/bin/deno run <flags> D/app/cli.ts "$@"`.
 * `--dist-extract` as the only argument stops after step 4 and prints D (for tests and for
 * checking a dist file of another architecture).
 */

/** What the stub needs to know about its payload. */
export interface StubParams {
  readonly version: string;
  readonly arch: string;
  /** sha256 of the payload bytes: the cache dir name. */
  readonly payloadSha256: string;
  /** sha256 of the payload's SHA256SUMS file. */
  readonly sumsSha256: string;
  /** `deno run` flags before the entry point. */
  readonly denoFlags: readonly string[];
}

function shellQuote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

function render(p: StubParams, offset: number): string {
  const flags = p.denoFlags.map(shellQuote).join(" ");
  return `#!/bin/sh
# stacker-ts ${p.version} for linux-${p.arch}: one self-extracting file. The first run extracts the
# payload below (a gzip'd tar, every file checked against SHA256SUMS) into
# \${XDG_CACHE_HOME:-$HOME/.cache}/stacker-ts/<sha256>/ and later runs start from there.
H=${p.payloadSha256}
SUMS=${p.sumsSha256}
OFF=${offset}
case \${XDG_CACHE_HOME:-} in
/*) C=$XDG_CACHE_HOME/stacker-ts ;;
*) C=\${HOME:?stacker-ts: neither XDG_CACHE_HOME nor HOME is set}/.cache/stacker-ts ;;
esac
D=$C/$H
die() { echo "stacker-ts: $*" >&2; exit 1; }
fp() { (cd "$1" && find . ! -type d ! -name .fingerprint -printf '%p %s %i %C@\\n') 2>/dev/null; }
fresh() { [ -f "$D/.fingerprint" ] && [ "$(fp "$D")" = "$(cat "$D/.fingerprint" 2>/dev/null)" ]; }
verify() {
  s=$(sha256sum "$1/SHA256SUMS" 2>/dev/null) && [ "\${s%% *}" = "$SUMS" ] &&
    (cd "$1" && sha256sum --quiet --strict -c SHA256SUMS >/dev/null 2>&1)
}
extract() {
  mkdir -p "$C" || die "cannot create $C"
  find "$C" -maxdepth 1 -name ".extract-*" -mmin +60 -exec rm -rf {} + 2>/dev/null
  T=$(mktemp -d "$C/.extract-$H.XXXXXX") || die "cannot create a temp dir in $C"
  trap 'rm -rf "$T"' EXIT
  trap 'exit 130' INT TERM HUP
  tail -c +$OFF "$0" | gzip -dc | tar -xf - -C "$T" --no-same-owner 2>/dev/null
  verify "$T" || die "$0 is damaged: its payload does not match its checksums (download it again)"
  fp "$T" >"$T/.fingerprint" || die "cannot write to $T"
  chmod 755 "$T"
  # A copy another run finished meanwhile is as good; only a damaged one is moved away.
  if ! fresh; then
    [ -d "$D" ] && mv -T "$D" "$C/.stale-$H.$$" 2>/dev/null
    mv -T "$T" "$D" 2>/dev/null || fresh || die "cannot move $T to $D"
  fi
  trap - EXIT INT TERM HUP
  rm -rf "$T" "$C/.stale-$H.$$"
}
if ! fresh; then
  if [ -d "$D" ] && verify "$D"; then
    f=$(fp "$D") && printf '%s\\n' "$f" >"$D/.fingerprint.$$" && mv -f "$D/.fingerprint.$$" "$D/.fingerprint"
  else
    extract
  fi
fi
if [ "$#" = 1 ] && [ "$1" = --dist-extract ]; then echo "$D"; exit 0; fi
export DENO_NO_UPDATE_CHECK=1
exec "$D/bin/deno" run ${flags} "$D/app/cli.ts" "$@"
exit 1
`;
}

/** The stub whose `tail -c +OFF` starts exactly at the payload that follows it. */
export function stubScript(p: StubParams): string {
  let offset = 1;
  for (;;) {
    const text = render(p, offset);
    const next = new TextEncoder().encode(text).length + 1;
    if (next === offset) return text;
    offset = next;
  }
}
