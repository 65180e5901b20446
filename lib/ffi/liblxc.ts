/**
 * Typed liblxc (LXC 5) bindings: one container handle, its config items, a daemonized start with an
 * idle init, `attach_run_wait`, stop, wait and release. Offsets of `struct lxc_container` and
 * `lxc_attach_options_t` are those measured on x86_64 LXC 5.0.2 (RUNTIME-NOTES.md §4); the library
 * is opened lazily, so code that never runs a container needs no `--allow-ffi`.
 *
 * liblxc refuses a non-daemonized start in a multithreaded process, and Deno is always
 * multithreaded: only the daemonized start plus attach is offered here. Blocking calls (`wait`,
 * `attach_run_wait`) run on Deno's blocking pool (`nonblocking: true`), so the event loop stays free.
 */
import { distLayout } from "../util/dist.ts";
import { RuntimeError } from "../util/errors.ts";
import { resolveLibrary } from "../util/permissions.ts";

const symbols = {
  // struct lxc_container *lxc_container_new(const char *name, const char *configpath)
  lxc_container_new: { parameters: ["buffer", "buffer"], result: "pointer" },
  // int lxc_container_put(struct lxc_container *c)
  lxc_container_put: { parameters: ["pointer"], result: "i32" },
  // const char *lxc_get_version(void)
  lxc_get_version: { parameters: [], result: "pointer" },
  // bool lxc_config_item_is_supported(const char *key)
  lxc_config_item_is_supported: { parameters: ["buffer"], result: "bool" },
} as const satisfies Deno.ForeignLibraryInterface;

/** Field offsets in `struct lxc_container` (sizeof 568) on x86_64, LXC 5.0.2. */
const OFF = {
  errorString: 56,
  errorNum: 64,
  isRunning: 96,
  initPid: 120,
  start: 136,
  stop: 152,
  wantDaemonize: 160,
  wait: 184,
  setConfigItem: 192,
  getConfigItem: 272,
  attachRunWait: 376,
} as const;

const methodDefs = {
  // bool (*is_running)(struct lxc_container *c)
  isRunning: { parameters: ["pointer"], result: "bool" },
  // pid_t (*init_pid)(struct lxc_container *c)
  initPid: { parameters: ["pointer"], result: "i32" },
  // bool (*start)(struct lxc_container *c, int useinit, char * const argv[])
  start: { parameters: ["pointer", "i32", "pointer"], result: "bool" },
  // bool (*stop)(struct lxc_container *c)
  stop: { parameters: ["pointer"], result: "bool" },
  // bool (*want_daemonize)(struct lxc_container *c, bool state)
  wantDaemonize: { parameters: ["pointer", "bool"], result: "bool" },
  // bool (*wait)(struct lxc_container *c, const char *state, int timeout)
  wait: { parameters: ["pointer", "pointer", "i32"], result: "bool", nonblocking: true },
  // bool (*set_config_item)(struct lxc_container *c, const char *key, const char *value)
  setConfigItem: { parameters: ["pointer", "buffer", "buffer"], result: "bool" },
  // int (*get_config_item)(struct lxc_container *c, const char *key, char *retv, int inlen)
  getConfigItem: { parameters: ["pointer", "buffer", "buffer", "i32"], result: "i32" },
  // int (*attach_run_wait)(struct lxc_container *c, lxc_attach_options_t *options,
  //                        const char *program, const char * const argv[])
  attachRunWait: {
    parameters: ["pointer", "pointer", "pointer", "pointer"],
    result: "i32",
    nonblocking: true,
  },
} as const satisfies Record<string, Deno.UnsafeCallbackDefinition | Deno.ForeignFunction>;

type Lib = Deno.DynamicLibrary<typeof symbols>["symbols"];
let lib: Lib | undefined;

/** The liblxc soname this module opens. */
export const LIBLXC_SONAME = "liblxc.so.1";

/** Handles of the dist's preloaded libraries: kept open for the life of the process. */
const preloaded: Deno.DynamicLibrary<Record<string, never>>[] = [];

/**
 * The liblxc to open: the dist's own copy, after its dependencies from the same dir (opened by
 * absolute path first, so liblxc's DT_NEEDED entries resolve to them by soname, not to the host's),
 * else the host's.
 */
function liblxcPath(): string | undefined {
  const dist = distLayout();
  if (!dist) return resolveLibrary(LIBLXC_SONAME);
  for (const so of dist.libraries.filter((l) => l !== LIBLXC_SONAME).slice(preloaded.length)) {
    try {
      preloaded.push(Deno.dlopen(`${dist.lib}/${so}`, {}));
    } catch (cause) {
      throw new RuntimeError(`Cannot load "${dist.lib}/${so}" (needed by the embedded liblxc) through FFI`, {
        code: "runtime.no-liblxc",
        cause,
        context: { library: `${dist.lib}/${so}` },
      });
    }
  }
  return `${dist.lib}/${LIBLXC_SONAME}`;
}

function liblxc(): Lib {
  if (lib) return lib;
  const path = liblxcPath();
  if (!path) {
    throw new RuntimeError(
      `Cannot load ${LIBLXC_SONAME}: it is not installed (install the Debian package "liblxc1")`,
      { code: "runtime.no-liblxc", context: { library: LIBLXC_SONAME, package: "liblxc1" } },
    );
  }
  try {
    lib = Deno.dlopen(path, symbols).symbols;
  } catch (cause) {
    throw new RuntimeError(`Cannot load "${path}" through FFI (is --allow-ffi granted?)`, {
      code: "runtime.no-liblxc",
      cause,
      context: { library: path },
    });
  }
  return lib;
}

const enc = new TextEncoder();
function cstr(s: string): Uint8Array<ArrayBuffer> {
  if (s.includes("\0")) throw new TypeError(`Cannot pass "${s}" to liblxc: it contains a NUL byte`);
  const b = enc.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** A NULL-terminated `char *[]` plus the buffers it points into (keep the object alive during the call). */
function cstrArray(items: readonly string[]): { ptr: Deno.PointerObject; keep: unknown[] } {
  const strings = items.map(cstr);
  const arr = new BigUint64Array(items.length + 1);
  strings.forEach((s, i) => (arr[i] = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(s)))));
  return { ptr: Deno.UnsafePointer.of(arr)!, keep: [strings, arr] };
}

/** The version string of the installed liblxc, e.g. "5.0.2". Throws RuntimeError when it cannot be loaded. */
export function lxcVersion(): string {
  const p = liblxc().lxc_get_version();
  return p === null ? "unknown" : Deno.UnsafePointerView.getCString(p);
}

/** Whether this liblxc knows config key `key` (e.g. "lxc.cgroup.relative"). */
export function lxcConfigKeySupported(key: string): boolean {
  return liblxc().lxc_config_item_is_supported(cstr(key));
}

/** How `attachRunWait` runs its command. */
export interface AttachOptions {
  /** The whole environment of the command, `NAME=value` (the caller's own environment is cleared). */
  readonly env: readonly string[];
  /** Working directory inside the container (default "/"). */
  readonly cwd?: string;
  /** Host fds that become the command's 0, 1 and 2 (default 0, 1, 2 of this process). */
  readonly stdin?: number;
  readonly stdout?: number;
  readonly stderr?: number;
}

const LXC_ATTACH_DEFAULT = 0xffff;
const LXC_ATTACH_CLEAR_ENV = 1;
const EBADF = 9;

/**
 * One liblxc container handle (`struct lxc_container *`). Not thread-safe; one run per handle.
 * `close()` releases the handle (idempotent); it does not stop a running container — call `stop()`.
 */
export class LxcContainer implements Disposable {
  #ptr: Deno.PointerObject | null;
  readonly name: string;
  readonly lxcPath: string;
  #fns = new Map<string, unknown>();

  private constructor(ptr: Deno.PointerObject, name: string, lxcPath: string) {
    this.#ptr = ptr;
    this.name = name;
    this.lxcPath = lxcPath;
  }

  /** A handle on container `name` under `lxcPath` (which must exist). Throws RuntimeError. */
  static open(name: string, lxcPath: string): LxcContainer {
    const p = liblxc().lxc_container_new(cstr(name), cstr(lxcPath));
    if (p === null) {
      throw new RuntimeError(`Cannot create LXC container "${name}" in "${lxcPath}"`, {
        code: "runtime.lxc-new",
        context: { container: name, lxcPath },
      });
    }
    return new LxcContainer(p, name, lxcPath);
  }

  #handle(): Deno.PointerObject {
    if (this.#ptr === null) {
      throw new RuntimeError(`Cannot use LXC container "${this.name}": its handle was released`, {
        code: "runtime.lxc-closed",
      });
    }
    return this.#ptr;
  }

  #fn<K extends keyof typeof methodDefs>(key: K): Deno.UnsafeFnPointer<(typeof methodDefs)[K]> {
    let f = this.#fns.get(key) as Deno.UnsafeFnPointer<(typeof methodDefs)[K]> | undefined;
    if (!f) {
      const fp = new Deno.UnsafePointerView(this.#handle()).getPointer(OFF[key]);
      if (fp === null) {
        throw new RuntimeError(`Cannot call liblxc method "${key}": it is NULL`, { code: "runtime.lxc-abi" });
      }
      f = new Deno.UnsafeFnPointer(fp as Deno.PointerObject<(typeof methodDefs)[K]>, methodDefs[key]);
      this.#fns.set(key, f);
    }
    return f;
  }

  /** liblxc's `error_string` and `error_num` of the last failed call (often empty: read the log file). */
  lastError(): { message: string; num: number } {
    const view = new Deno.UnsafePointerView(this.#handle());
    const sp = view.getPointer(OFF.errorString);
    return {
      message: sp === null ? "" : Deno.UnsafePointerView.getCString(sp),
      num: view.getInt32(OFF.errorNum),
    };
  }

  #fail(what: string, code: string, context: Record<string, string | number> = {}): never {
    const e = this.lastError();
    throw new RuntimeError(`Cannot ${what}${e.message ? `: ${e.message}` : ""}`, {
      code,
      context: { container: this.name, ...context, errorNum: e.num },
    });
  }

  /** set_config_item; throws RuntimeError naming the key when liblxc refuses it. */
  setConfigItem(key: string, value: string): void {
    if (!this.#fn("setConfigItem").call(this.#handle(), cstr(key), cstr(value))) {
      this.#fail(`set LXC config item "${key}" to "${value}"`, "runtime.lxc-config", { key });
    }
  }

  /** get_config_item; undefined when the key is unset or unknown. */
  getConfigItem(key: string): string | undefined {
    const k = cstr(key);
    const len = this.#fn("getConfigItem").call(
      this.#handle(),
      k,
      null as unknown as Uint8Array<ArrayBuffer>,
      0,
    );
    if (len < 0) return undefined;
    const buf = new Uint8Array(len + 1);
    this.#fn("getConfigItem").call(this.#handle(), k, buf, len + 1);
    return new TextDecoder().decode(buf.subarray(0, len));
  }

  wantDaemonize(on: boolean): void {
    this.#fn("wantDaemonize").call(this.#handle(), on);
  }

  /**
   * start(useinit=1, argv): returns once the container is RUNNING with `argv` as its idle process
   * under LXC's own init. Needs `wantDaemonize(true)` first. Throws RuntimeError (see the log file).
   */
  start(argv: readonly string[]): void {
    const a = cstrArray(argv);
    const ok = this.#fn("start").call(this.#handle(), 1, a.ptr);
    void a.keep;
    if (!ok) this.#fail(`start LXC container "${this.name}"`, "runtime.lxc-start");
  }

  isRunning(): boolean {
    return this.#fn("isRunning").call(this.#handle());
  }

  /** PID (host view) of the container's init, or -1. */
  initPid(): number {
    return this.#fn("initPid").call(this.#handle());
  }

  /** Kills the container's init (every process in it dies with it); false when it was not running. */
  stop(): boolean {
    return this.#fn("stop").call(this.#handle());
  }

  /** Waits up to `timeoutSeconds` for `state` (e.g. "STOPPED"); true when reached. */
  async wait(state: string, timeoutSeconds: number): Promise<boolean> {
    const s = cstr(state);
    const r = await this.#fn("wait").call(this.#handle(), Deno.UnsafePointer.of(s), timeoutSeconds);
    void s;
    return r;
  }

  /**
   * Runs `argv` in the running container with only the given fds as 0/1/2 and exactly `opts.env`
   * as its environment; resolves to the raw wait status (exit code `(st >> 8) & 0xff`, signal
   * `st & 0x7f`). Throws RuntimeError when the attach itself fails.
   */
  async attachRunWait(argv: readonly string[], opts: AttachOptions): Promise<number> {
    if (argv.length === 0) throw new TypeError("Cannot run an empty command");
    const o = new ArrayBuffer(96);
    const v = new DataView(o);
    const env = cstrArray(opts.env);
    const cwd = cstr(opts.cwd ?? "/");
    const program = cstr(argv[0]);
    const args = cstrArray(argv);
    v.setInt32(0, LXC_ATTACH_DEFAULT, true);
    v.setInt32(4, -1, true); // namespaces: all of the container's
    v.setBigInt64(8, -1n, true); // personality: detect
    v.setBigUint64(16, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(cwd))), true);
    v.setUint32(24, 0xffffffff, true); // uid: keep the container's init's
    v.setUint32(28, 0xffffffff, true); // gid
    v.setInt32(32, LXC_ATTACH_CLEAR_ENV, true);
    v.setBigUint64(40, BigInt(Deno.UnsafePointer.value(env.ptr)), true);
    v.setBigUint64(48, 0n, true);
    v.setInt32(56, opts.stdin ?? 0, true);
    v.setInt32(60, opts.stdout ?? 1, true);
    v.setInt32(64, opts.stderr ?? 2, true);
    v.setInt32(68, -EBADF, true);
    const optsBuf = new Uint8Array(o);
    const st = await this.#fn("attachRunWait").call(
      this.#handle(),
      Deno.UnsafePointer.of(optsBuf),
      Deno.UnsafePointer.of(program),
      args.ptr,
    );
    void [env.keep, cwd, program, args.keep, optsBuf];
    if (st < 0) this.#fail(`run "${argv[0]}" in LXC container "${this.name}"`, "runtime.lxc-attach");
    return st;
  }

  /** Releases the handle (lxc_container_put); idempotent. */
  close(): void {
    if (this.#ptr === null) return;
    liblxc().lxc_container_put(this.#ptr);
    this.#ptr = null;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
