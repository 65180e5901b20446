/** The stacker-ts version, from one place. */
export const STACKER_VERSION = "0.1.0";
