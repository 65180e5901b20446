/**
 * The extracted copy of a dist file (`deno task dist`) this program runs from, when it does.
 *
 * The dist file's stub extracts its payload once into `${XDG_CACHE_HOME:-~/.cache}/stacker-ts/<sha256>/`
 * and runs `<that dir>/app/cli.ts` there. `app/dist.json` (written by scripts/dist.ts, never present
 * in a checkout) says what else is in that dir: the helpers under `bin/`, liblxc and the shared
 * libraries it needs under `lib/` (loaded by absolute path, dependencies first), `lxc-usernsexec`,
 * and the versions of everything embedded. Every file was hash-verified when it was extracted.
 */

/** app/dist.json as scripts/dist.ts writes it. */
export interface DistManifest {
  readonly version: string;
  /** Deno arch name (x86_64, aarch64). */
  readonly arch: string;
  /** Component -> version, for `--version`: deno, liblxc, busybox, skopeo, umoci. */
  readonly embedded: Readonly<Record<string, string>>;
  /** Shared libraries under lib/, in the order they must be loaded (liblxc last). */
  readonly libraries: readonly string[];
  /** The host's dynamic loader the embedded lxc-usernsexec runs through (its PT_INTERP). */
  readonly interpreter: string;
}

/** Where the extracted dist's parts are, as absolute paths. */
export interface DistLayout extends DistManifest {
  /** The extraction dir (`.../stacker-ts/<sha256>`). */
  readonly root: string;
  readonly bin: string;
  readonly lib: string;
  /** The Deno runtime of the dist. */
  readonly deno: string;
}

let cached: DistLayout | null | undefined;

/** The dist.json next to this program's cli.ts, when this module was loaded from a file. */
export function distManifestPath(): string | undefined {
  const url = new URL("../../dist.json", import.meta.url);
  return url.protocol === "file:" ? decodeURIComponent(url.pathname) : undefined;
}

/** Parses dist.json's text for the app dir `appDir`; throws TypeError for a malformed one. */
export function parseDistManifest(text: string, appDir: string): DistLayout {
  const m = JSON.parse(text) as Partial<DistManifest>;
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === "string");
  if (
    typeof m.version !== "string" || typeof m.arch !== "string" || typeof m.interpreter !== "string" ||
    typeof m.embedded !== "object" || m.embedded === null || !strings(m.libraries)
  ) {
    throw new TypeError(`Cannot use "${appDir}/dist.json": it is not a stacker-ts dist manifest`);
  }
  const root = appDir.replace(/\/[^/]*\/?$/, "") || "/";
  for (const lib of m.libraries!) {
    if (lib.includes("/")) {
      throw new TypeError(`Cannot use "${appDir}/dist.json": library "${lib}" is a path`);
    }
  }
  return {
    version: m.version,
    arch: m.arch,
    embedded: m.embedded,
    libraries: m.libraries!,
    interpreter: m.interpreter,
    root,
    bin: `${root}/bin`,
    lib: `${root}/lib`,
    deno: `${root}/bin/deno`,
  };
}

/**
 * The extracted dist this program runs from, or undefined when it runs from a checkout or a URL.
 * Read once per process.
 */
export function distLayout(): DistLayout | undefined {
  if (cached !== undefined) return cached ?? undefined;
  const path = distManifestPath();
  let text: string | undefined;
  try {
    // Sync on purpose: read once, from the few places that must know before they act.
    if (path) text = Deno.readTextFileSync(path);
  } catch (err) {
    // Not readable under the permissions this process was given: not started as a dist (the
    // dist's launcher always grants its own dir).
    if (!(err instanceof Deno.errors.NotFound) && !(err instanceof Deno.errors.NotCapable)) throw err;
  }
  cached = text === undefined ? null : parseDistManifest(text, path!.slice(0, path!.lastIndexOf("/")));
  return cached ?? undefined;
}

/**
 * argv prefix that runs the embedded `lxc-usernsexec` with the dist's libraries: through the host's
 * dynamic loader with `--library-path`, so the processes it starts do not inherit the path.
 */
export function distUsernsexec(d: DistLayout): string[] {
  return [d.interpreter, "--library-path", d.lib, `${d.bin}/lxc-usernsexec`];
}
