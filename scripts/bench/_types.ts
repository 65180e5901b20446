/** The shape of a benchmark module under scripts/bench/<name>.ts (its default export). */

/** One process to time. `before` runs untimed before every timed run (e.g. to remove an output dir). */
export interface BenchCmd {
  readonly argv: string[];
  readonly cwd?: string;
  readonly env?: Record<string, string>;
  readonly before?: () => Promise<void>;
}

/** Our command beside a public tool doing the same work. */
export interface BenchCase {
  readonly label: string;
  readonly ours: BenchCmd;
  readonly reference: BenchCmd;
  /** What the reference is, for the table (default: its argv[0]). */
  readonly referenceName?: string;
}

export interface Benchmark {
  readonly name: string;
  readonly describe: string;
  setup(): Promise<{ cases: BenchCase[]; cleanup?: () => Promise<void> }>;
}
