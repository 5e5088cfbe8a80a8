// The block device under a host folder, for the task's write-rate limit (sandbox.ts,
// BlkioDeviceWriteBps). The kernel's blkio/io throttle takes a whole disk, not a partition (the
// Pi's output folder is on /dev/mmcblk0p2: the limit goes on /dev/mmcblk0). Folders on tmpfs,
// overlayfs or another device-less file system have no device to throttle: undefined.
import { access, realpath, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/** `/dev/<disk>` holding `path`, or undefined when its file system has no block device. */
export async function blockDeviceOf(path: string): Promise<string | undefined> {
  const { dev } = await stat(path);
  // glibc's encoding of dev_t (major and minor split over the number's bits).
  const major = ((dev >> 8) & 0xfff) | (Math.floor(dev / 2 ** 32) * 0x1000);
  const minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
  if (major === 0) return undefined;
  let sysfs: string;
  try {
    sysfs = await realpath(`/sys/dev/block/${major}:${minor}`);
  } catch {
    return undefined;
  }
  const isPartition = await access(join(sysfs, "partition")).then(
    () => true,
    () => false,
  );
  const device = `/dev/${basename(isPartition ? dirname(sysfs) : sysfs)}`;
  return access(device).then(
    () => device,
    () => undefined,
  );
}
