/** `stacker version` and `stacker --version`: one line, `stacker <version> liblxc <version>`. */
import { distLayout } from "../util/dist.ts";
import { STACKER_VERSION } from "../util/version.ts";
import { VERSION_META } from "./_meta.ts";
import type { CommandDef } from "./types.ts";

/**
 * The version line in stacker's format, so scripts that parse it keep working. liblxc is loaded only
 * here (lazily, through FFI); without it the line still prints, with "unknown".
 */
export async function versionLine(): Promise<string> {
  let lxc = "unknown";
  try {
    const { lxcVersion } = await import("../ffi/liblxc.ts");
    lxc = lxcVersion();
  } catch { /* no liblxc on this host: the version line is still useful */ }
  const dist = distLayout();
  // A dist file names what it carries; the line still starts as stacker's does for scripts.
  const embedded = dist
    ? ` (dist linux-${dist.arch}: ${Object.entries(dist.embedded).map(([k, v]) => `${k} ${v}`).join(", ")})`
    : "";
  return `stacker ${STACKER_VERSION} liblxc ${lxc}${embedded}`;
}

export const versionCommand: CommandDef = {
  ...VERSION_META,
  async run(ctx) {
    ctx.print(await versionLine());
    return 0;
  },
};
