/** Who this process really is on the host: root in the initial user namespace, or not. */

/** True in the initial user namespace (the identity uid map), where uid 0 is the host's root. */
export async function inInitialUserns(): Promise<boolean> {
  const map = (await Deno.readTextFile("/proc/self/uid_map")).trim().split(/\s+/);
  return map.length === 3 && map[0] === "0" && map[1] === "0" && map[2] === "4294967295";
}

/**
 * Real root: uid 0 in the initial user namespace (not the root of a namespace we entered). Under
 * a narrowed permission set Deno refuses to read uid_map ("requires all access"); then the
 * re-executed child's marker decides (`STACKER_REAL_UID`, set when we entered a namespace).
 */
export async function isRealRoot(): Promise<boolean> {
  if (Deno.uid() !== 0) return false;
  try {
    return await inInitialUserns();
  } catch (e) {
    if (!(e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotCapable)) throw e;
    return Deno.env.get("STACKER_REAL_UID") === undefined;
  }
}
