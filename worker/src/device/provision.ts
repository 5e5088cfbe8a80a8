// Turns the owner's sunpool.yaml into the files a flashed Pi runs on: the worker config, the chain
// deployment, the wallet (created once, on the Pi, never in the image), Wi-Fi, hostname and SSH keys.
// It runs at every boot, so an edited sunpool.yaml takes effect on the next power-on; every step is
// idempotent and every file is written durably, so a power cut at any instant is repaired by the
// next boot. The wallet is never replaced: its address holds the owner's stake.
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join } from "node:path";

import { keystoreAddress, writeFileDurably, writeKeystore } from "@sunpool/sdk/node";

import { cellVolts } from "../boardFactory.js";
import type { WorkerConfigFile } from "../config.js";
import { BOOT_FILES } from "./bootFiles.js";
import { parseOwnerFile, type OwnerFile } from "./ownerFile.js";

/** Where things live on the image (relative to `root`; the boot partition is separate). */
export const IMAGE_PATHS = {
  config: "etc/sunpool/worker.config.json",
  deployment: "etc/sunpool/deployment.json",
  stateDir: "var/lib/sunpool",
  keystore: "var/lib/sunpool/keystore.json",
  password: "var/lib/sunpool/keystore-password",
  dataDir: "var/lib/sunpool/worker",
  wifi: "etc/wpa_supplicant/wpa_supplicant-wlan0.conf",
  hostname: "etc/hostname",
  hosts: "etc/hosts",
  authorizedKeys: "home/owner/.ssh/authorized_keys",
  issue: "etc/issue.d/sunpool.issue",
} as const;

export { BOOT_FILES } from "./bootFiles.js";

export interface ProvisionResult {
  address: string;
  /** Whether the wallet was created by this run (first boot). */
  createdWallet: boolean;
  hostname: string;
  wifi: boolean;
  ssh: boolean;
}

export interface ProvisionOptions {
  /** The mounted boot partition (`/boot/firmware` on the Pi). */
  bootDir: string;
  /** The root file system (`/` on the Pi; a build or test folder otherwise). */
  root: string;
  /** The Docker socket the worker uses on the image. */
  dockerSocket?: string;
}

/** Reads sunpool.yaml from the boot partition and writes everything the worker needs. */
export async function provision(options: ProvisionOptions): Promise<ProvisionResult> {
  const ownerPath = join(options.bootDir, BOOT_FILES.owner);
  if (!existsSync(ownerPath)) {
    throw new ProvisionError(
      `No ${BOOT_FILES.owner} on the boot partition (${options.bootDir}). Copy sunpool.example.yaml to ${BOOT_FILES.owner} there, fill it in, and power on again.`,
    );
  }
  const owner = parseOwnerFile(await readFile(ownerPath, "utf8"), BOOT_FILES.owner);
  const at = (path: string) => join(options.root, path);

  const wallet = await ensureWallet(at(IMAGE_PATHS.keystore), at(IMAGE_PATHS.password));
  await writeDurably(at(IMAGE_PATHS.deployment), `${JSON.stringify(deploymentOf(owner), null, 2)}\n`, 0o644);
  await writeDurably(at(IMAGE_PATHS.config), `${JSON.stringify(workerConfigOf(owner, options), null, 2)}\n`, 0o600);
  await writeDurably(at(IMAGE_PATHS.hostname), `${owner.hostname}\n`, 0o644);
  // sudo and others resolve the hostname through /etc/hosts.
  await writeDurably(
    at(IMAGE_PATHS.hosts),
    `127.0.0.1\tlocalhost\n127.0.1.1\t${owner.hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`,
    0o644,
  );
  // A section removed from sunpool.yaml switches its feature off: its file goes too.
  if (owner.wifi !== undefined) await writeDurably(at(IMAGE_PATHS.wifi), wpaSupplicantConf(owner.wifi), 0o600);
  else await rm(at(IMAGE_PATHS.wifi), { force: true });
  if (owner.ssh !== undefined)
    await writeDurably(at(IMAGE_PATHS.authorizedKeys), `${owner.ssh.authorizedKeys.join("\n")}\n`, 0o600);
  else await rm(at(IMAGE_PATHS.authorizedKeys), { force: true });
  await writeDurably(at(IMAGE_PATHS.issue), `Sunpool worker ${wallet.address} (fund its stake to start earning)\n\n`, 0o644);
  // The owner may read this from the SD card on a laptop; it is the only way to learn the
  // address of a Pi without a screen or SSH.
  await writeDurably(join(options.bootDir, BOOT_FILES.address), `${wallet.address}\n`, 0o644);
  return {
    address: wallet.address,
    createdWallet: wallet.created,
    hostname: owner.hostname,
    wifi: owner.wifi !== undefined,
    ssh: owner.ssh !== undefined,
  };
}

export class ProvisionError extends Error {
  override readonly name = "ProvisionError";
}

/**
 * The wallet, created on first boot. The password is written before the keystore: a power cut
 * between the two leaves a password without a keystore, and the next boot creates the keystore
 * with it. The reverse order could leave a keystore nobody can open.
 */
async function ensureWallet(keystore: string, passwordFile: string): Promise<{ address: string; created: boolean }> {
  if (existsSync(keystore)) return { address: await keystoreAddress(keystore), created: false };
  let password: string;
  if (existsSync(passwordFile)) {
    password = (await readFile(passwordFile, "utf8")).trim();
  } else {
    password = randomBytes(32).toString("base64url");
    await writeDurably(passwordFile, `${password}\n`, 0o600);
  }
  const { address } = await writeKeystore({ path: keystore, password, scryptN: DEVICE_SCRYPT_N });
  return { address, created: true };
}

/**
 * scrypt's cost for the device wallet. Its password is 32 random bytes, which no stretching can
 * strengthen; N = 2^17 (for passwords people choose) would cost the Pi 128 MiB and seconds at
 * every start. Keystores written with any N read the same way (docs/worker.md, "Footprint").
 */
export const DEVICE_SCRYPT_N = 2 ** 12;

function deploymentOf(owner: OwnerFile) {
  const { chainId, hub, token, registry, deployedAtBlock } = owner.chain;
  return { chainId, hub, token, registry, deployedAtBlock };
}

/** The worker config for a Witty Pi 4 board; validated by the worker's own schema when it starts. */
export function workerConfigOf(owner: OwnerFile, options: Pick<ProvisionOptions, "dockerSocket">): WorkerConfigFile {
  const volts = cellVolts(owner.battery.chemistry);
  const path = (relative: string) => `/${relative}`;
  return {
    scheduler: owner.pool.scheduler,
    rpcUrl: owner.chain.rpc,
    workerpool: owner.pool.workerpool,
    deployment: path(IMAGE_PATHS.deployment),
    keystore: path(IMAGE_PATHS.keystore),
    keystorePasswordFile: path(IMAGE_PATHS.password),
    dataDir: path(IMAGE_PATHS.dataDir),
    docker: { socketPath: options.dockerSocket ?? "/run/docker.sock" },
    board: {
      kind: "witty-pi-4",
      i2cBus: 1,
      battery: owner.battery,
      lowVoltageCutoff: round1(volts.cutoff * owner.battery.cells),
      recoveryVoltage: round1(volts.recovery * owner.battery.cells),
      powerCutDelaySeconds: 25,
      panelWatts: owner.panel.watts,
      monitor: owner.monitor,
      ...(owner.panelMonitor === undefined ? {} : { panelMonitor: owner.panelMonitor }),
    },
    ...(owner.energy === undefined ? {} : { energy: owner.energy }),
    metrics: { host: "127.0.0.1", port: 9464 },
    logLevel: "info",
  };
}

/** wpa_supplicant's format: values quoted and escaped; the owner-file schema has refused control characters. */
function wpaSupplicantConf(wifi: NonNullable<OwnerFile["wifi"]>): string {
  const quoted = (value: string) => `"${value.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  return [
    "ctrl_interface=DIR=/run/wpa_supplicant GROUP=netdev",
    "update_config=0",
    `country=${wifi.country}`,
    "",
    "network={",
    `  ssid=${quoted(wifi.ssid)}`,
    wifi.password === undefined ? "  key_mgmt=NONE" : `  psk=${quoted(wifi.password)}`,
    "}",
    "",
  ].join("\n");
}

async function writeDurably(path: string, data: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o755 });
  await writeFileDurably(path, data, mode);
}

function round1(volts: number): number {
  return Math.round(volts * 10) / 10;
}
