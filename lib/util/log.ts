/**
 * The one logger. Levels debug < info < warn < error; `quiet` shows only errors. Fields (layer,
 * digest…) are appended as `key=value`. `warnOnce` keeps repeated conditions to one line.
 * Output goes to a sink (stderr by default, or a log file): no global state, each command makes one.
 * Registered secrets (util/secrets.ts) never reach the sink.
 */
import { redactSecrets } from "./secrets.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 0, info: 1, warn: 2, error: 3 };

export type LogFields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface LoggerOptions {
  /** Lowest level printed (default "info"). */
  level?: LogLevel;
  /** Where lines go (default: stderr). */
  sink?: (line: string) => void;
  /** Prefix each line with an ISO timestamp (default false). */
  timestamps?: boolean;
}

const encoder = new TextEncoder();
function stderrSink(line: string): void {
  Deno.stderr.writeSync(encoder.encode(line + "\n"));
}

export class Logger {
  readonly level: LogLevel;
  readonly #sink: (line: string) => void;
  readonly #timestamps: boolean;
  readonly #fields: LogFields;
  readonly #warned: Set<string>;

  constructor(options: LoggerOptions = {}, fields: LogFields = {}, warned = new Set<string>()) {
    this.level = options.level ?? "info";
    this.#sink = options.sink ?? stderrSink;
    this.#timestamps = options.timestamps ?? false;
    this.#fields = fields;
    this.#warned = warned;
  }

  /** A logger that adds `fields` to every line; shares the sink and the warn-once memory. */
  with(fields: LogFields): Logger {
    return new Logger(
      { level: this.level, sink: this.#sink, timestamps: this.#timestamps },
      { ...this.#fields, ...fields },
      this.#warned,
    );
  }

  enabled(level: LogLevel): boolean {
    return ORDER[level] >= ORDER[this.level];
  }

  debug(msg: string, fields?: LogFields): void {
    this.#log("debug", msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.#log("info", msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.#log("warn", msg, fields);
  }
  error(msg: string, fields?: LogFields): void {
    this.#log("error", msg, fields);
  }
  /** Logs `msg` as a warning the first time `key` is seen by this logger family. */
  warnOnce(key: string, msg: string, fields?: LogFields): void {
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    this.warn(msg, fields);
  }

  #log(level: LogLevel, msg: string, fields?: LogFields): void {
    if (!this.enabled(level)) return;
    const all = { ...this.#fields, ...fields };
    const tail = Object.entries(all)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${k}=${typeof v === "string" && /\s/.test(v) ? JSON.stringify(v) : v}`)
      .join(" ");
    const prefix = this.#timestamps ? `${new Date().toISOString()} ` : "";
    const lvl = level === "info" ? "" : `${level}: `;
    this.#sink(redactSecrets(`${prefix}${lvl}${msg}${tail ? " " + tail : ""}`));
  }
}

/** A logger that drops everything: the default for library calls that were given none. */
export const silentLogger: Logger = new Logger({ level: "error", sink: () => {} });

/** A logger that records lines in memory: for tests. */
export function memoryLogger(level: LogLevel = "debug"): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  return { log: new Logger({ level, sink: (l) => lines.push(l) }), lines };
}
