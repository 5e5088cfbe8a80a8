// Files on the boot partition, on their own so that the CLI's help can name them without loading
// provisioning (YAML, the owner file's schema).

/** Files on the boot partition: what the owner writes, and what the Pi writes back for them to read. */
export const BOOT_FILES = {
  owner: "sunpool.yaml",
  address: "sunpool-worker-address.txt",
  error: "sunpool-error.txt",
} as const;
