/**
 * The build's real services (lib/builder/_wiring.ts `openServices`: oci, transport, layer, storage,
 * runtime) with counters on every unpack, run and layer generation, so tests can prove that a
 * cached rebuild does none of them.
 */
import { silentLogger } from "../../../lib/util/log.ts";
import type { Logger } from "../../../lib/util/log.ts";
import type { BuildServices } from "../../../lib/builder/services.ts";
import { openServices } from "../../../lib/builder/_wiring.ts";

export interface Counters {
  unpacks: number;
  runs: number;
  generated: number;
}

export interface CountingServicesOptions {
  readonly ociDir: string;
  readonly rootsDir: string;
  readonly stackerDir: string;
  /** Default "overlay". */
  readonly storageType?: "overlay" | "copy" | "btrfs";
  readonly log?: Logger;
}

/** `openServices` with counters; see the module doc. */
export async function countingServices(
  opts: CountingServicesOptions,
): Promise<BuildServices & { counters: Counters }> {
  const counters: Counters = { unpacks: 0, runs: 0, generated: 0 };
  const real = await openServices({
    ociDir: opts.ociDir,
    rootsDir: opts.rootsDir,
    stackerDir: opts.stackerDir,
    storageType: opts.storageType ?? "overlay",
    log: opts.log ?? silentLogger,
  });
  return {
    ...real,
    counters,
    async unpackLayer(open, dir, o) {
      counters.unpacks++;
      await real.unpackLayer(open, dir, o);
    },
    async generateLayer(input, o) {
      const g = await real.generateLayer(input, o);
      if (g) counters.generated++;
      return g;
    },
    async runLayer(o) {
      counters.runs++;
      await real.runLayer(o);
    },
  };
}
