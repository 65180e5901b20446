/**
 * A real btrfs for tests: a sparse file under /var/tmp, formatted and loop-mounted with
 * user_subvol_rm_allowed on a directory the test user can reach. Needs root; removed on dispose
 * (the loop device goes with the lazy unmount, mount -o loop sets autoclear).
 */
async function sh(argv: string[]): Promise<void> {
  const out = await new Deno.Command(argv[0], { args: argv.slice(1), stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(`${argv.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

export interface LoopBtrfs extends AsyncDisposable {
  /** The mount point (mode 0777, so the test user may create subvolumes in it). */
  readonly mnt: string;
}

export async function loopBtrfs(): Promise<LoopBtrfs> {
  const dir = await Deno.makeTempDir({ dir: "/var/tmp", prefix: "stacker-ts-btrfs-" });
  await Deno.chmod(dir, 0o755);
  const img = `${dir}/img`, mnt = `${dir}/mnt`;
  await Deno.mkdir(mnt);
  try {
    const f = await Deno.open(img, { write: true, createNew: true });
    await f.truncate(512 * 2 ** 20);
    f.close();
    await sh(["mkfs.btrfs", "-q", img]);
    await sh(["mount", "-o", "loop,user_subvol_rm_allowed", img, mnt]);
    await Deno.chmod(mnt, 0o777);
  } catch (e) {
    await Deno.remove(dir, { recursive: true });
    throw e;
  }
  return {
    mnt,
    async [Symbol.asyncDispose]() {
      await sh(["umount", "-l", mnt]);
      await Deno.remove(dir, { recursive: true });
    },
  };
}
