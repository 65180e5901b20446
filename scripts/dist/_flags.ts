/** The `deno run` flags the dist file's stub starts its program with. */
export const DIST_DENO_FLAGS: readonly string[] = ["--no-config", "--cached-only", "--no-prompt", "-A"];
