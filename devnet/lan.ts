// `npm run devnet -- --lan [address]`: the devnet on the machine's LAN address instead of
// 127.0.0.1, so that a Pi flashed with the Sunpool image joins it with only its sunpool.yaml.
// Everything here is pure (the interfaces, the engine's registry settings and the deployment come
// in as values) so that the choices are tested without a second machine.
import { readdirSync, readFileSync } from "node:fs";
import type { NetworkInterfaceInfo } from "node:os";

export type LanErrorCode = "LAN_NO_ADDRESS" | "LAN_NOT_PRIVATE" | "LAN_NOT_HERE" | "LAN_BAD_ADDRESS" | "LAN_FLAG";

export class LanError extends Error {
  readonly code: LanErrorCode;
  constructor(code: LanErrorCode, message: string) {
    super(message);
    this.name = "LanError";
    this.code = code;
  }
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function octets(address: string): number[] | undefined {
  const match = IPV4.exec(address);
  if (match === null) return undefined;
  const parts = match.slice(1).map(Number);
  return parts.every((part) => part <= 255) ? parts : undefined;
}

/** RFC 1918: 10/8, 172.16/12, 192.168/16 — the ranges a home or office LAN uses. */
export function isPrivateIPv4(address: string): boolean {
  const parts = octets(address);
  if (parts === undefined) return false;
  const [a, b] = parts as [number, number];
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

/**
 * Interfaces a Pi on the LAN can never reach: bridges of container and VM engines, and their
 * veth ends (Docker's docker0 is up whenever a container runs, and would often come first).
 */
const VIRTUAL_INTERFACE = /^(docker\d*|br-|veth|virbr|vnet|cni|flannel|cali|sunpool\d)/;

/**
 * The address the LAN devnet binds to. `requested` undefined: the first private IPv4 address of an
 * interface that is up (Node lists only those), not loopback and not a container bridge. Given:
 * it must be a private IPv4 address of this machine. Throws LanError saying what to do.
 */
export function chooseLanAddress(interfaces: NodeJS.Dict<NetworkInterfaceInfo[]>, requested?: string): string {
  const all = Object.entries(interfaces).flatMap(([name, infos]) =>
    (infos ?? []).filter((info) => info.family === "IPv4" && !info.internal).map((info) => ({ name, address: info.address })),
  );
  if (requested !== undefined) {
    if (octets(requested) === undefined)
      throw new LanError(
        "LAN_BAD_ADDRESS",
        `--lan ${requested} is not an IPv4 address: give one like 192.168.1.20, or --lan alone`,
      );
    if (!isPrivateIPv4(requested))
      throw new LanError(
        "LAN_NOT_PRIVATE",
        `--lan ${requested} is not a private LAN address (10.x, 172.16-31.x, 192.168.x): the devnet's chain holds funded ` +
          `dev keys anyone can use and its registry has no TLS, so it only listens on a private network. Use the address ` +
          `your router gave this machine (ip -4 addr)`,
      );
    if (!all.some((entry) => entry.address === requested))
      throw new LanError(
        "LAN_NOT_HERE",
        `--lan ${requested} is not an address of this machine (it has: ${all.map((e) => `${e.address} on ${e.name}`).join(", ") || "none but loopback"}). ` +
          `Give one of them, or --lan alone to pick the first private one`,
      );
    return requested;
  }
  const lan = all.filter((entry) => !VIRTUAL_INTERFACE.test(entry.name));
  const chosen = lan.find((entry) => isPrivateIPv4(entry.address));
  if (chosen !== undefined) return chosen.address;
  const seen = lan.map((e) => `${e.address} on ${e.name}`).join(", ");
  if (lan.length > 0)
    throw new LanError(
      "LAN_NOT_PRIVATE",
      `no private LAN address on this machine (it has ${seen}): the devnet refuses to listen on a public address, where ` +
        `anyone could use its funded dev keys. Connect to a home or office network (10.x, 172.16-31.x, 192.168.x), ` +
        `or give one with --lan <address>`,
    );
  throw new LanError(
    "LAN_NO_ADDRESS",
    "no network interface is up besides loopback (ip -4 addr): connect this machine to the LAN the Pi is on, then start again",
  );
}

/**
 * `--lan` takes an optional value, which node:util parseArgs cannot express: this takes it out of
 * the arguments. `lan` is undefined without the flag, "" for `--lan` alone, else the address.
 */
export function takeLanFlag(args: readonly string[]): { args: string[]; lan: string | undefined } {
  const rest: string[] = [];
  let lan: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    let value: string | undefined;
    if (arg === "--lan") {
      const next = args[i + 1];
      value = next !== undefined && !next.startsWith("-") ? next : "";
      if (value !== "") i++;
    } else if (arg.startsWith("--lan=")) {
      value = arg.slice("--lan=".length);
      if (value === "") throw new LanError("LAN_FLAG", "--lan= needs an address (or write --lan alone to pick one)");
    } else {
      rest.push(arg);
      continue;
    }
    if (lan !== undefined) throw new LanError("LAN_FLAG", "--lan is given twice: give it once");
    lan = value;
  }
  return { args: rest, lan };
}

/** Whether the Docker engine pulls over plain HTTP from `registry` (host:port), per `docker info`'s RegistryConfig. */
export function engineTrustsRegistry(
  config: { InsecureRegistryCIDRs?: string[] | null; IndexConfigs?: Record<string, { Secure?: boolean }> | null },
  registry: string,
): boolean {
  if (config.IndexConfigs?.[registry]?.Secure === false) return true;
  const host = octets(registry.split(":")[0] ?? "");
  if (host === undefined) return false;
  const value = (parts: number[]) => parts.reduce((sum, part) => sum * 256 + part, 0);
  return (config.InsecureRegistryCIDRs ?? []).some((cidr) => {
    const [network, bits] = cidr.split("/");
    const base = octets(network ?? "");
    const prefix = Number(bits);
    if (base === undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32) return false;
    const size = 2 ** (32 - prefix);
    return Math.floor(value(host) / size) === Math.floor(value(base) / size);
  });
}

/** `127.0.0.1:5000/sunpool-demo/x` pushed through loopback, named as the Pi pulls it: `<lan>:5000/sunpool-demo/x`. */
export function onRegistry(image: string, from: string, to: string): string {
  if (!image.startsWith(`${from}/`)) throw new Error(`image ${image} was not pushed to ${from}`);
  return `${to}${image.slice(from.length)}`;
}

/**
 * The LAN registry's config: the loopback registry's storage (where the devnet pushed the demo
 * images), served read-only so that nobody on the LAN can push, and never purging uploads that the
 * loopback registry may have in progress.
 */
export function lanRegistryConfig(address: string, dataDir: string): string {
  return `# Written by npm run devnet -- --lan: the demo images for Pis on the LAN (read-only, no TLS, no auth).
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: ${dataDir}
  maintenance:
    readonly:
      enabled: true
    uploadpurging:
      enabled: false
http:
  addr: ${address}
`;
}

export interface PiOwnerFileInput {
  schedulerUrl: string;
  workerpool: string;
  rpcUrl: string;
  deployment: { chainId: bigint | string; hub: string; token: string; registry: string; deployedAtBlock: number };
}

/** The sunpool.yaml a Pi needs to join this devnet: the pool and chain filled in, the hardware left to its owner. */
export function piOwnerFile(input: PiOwnerFileInput): string {
  const { deployment } = input;
  return `# Sunpool worker for the LAN devnet (written by npm run devnet -- --lan; a new one at every start,
# since the devnet's chain is new each time). Copy it to the Pi's boot partition as sunpool.yaml,
# set battery, panel and monitor to your hardware, and add a wifi section unless the Pi is on
# Ethernet. docs/worker-owner.md, "Joining a laptop's devnet over the LAN", walks through it.
pool:
  scheduler: ${input.schedulerUrl}
  workerpool: "${input.workerpool}"

chain:
  rpc: ${input.rpcUrl}
  chainId: ${deployment.chainId.toString()}
  hub: "${deployment.hub}"
  token: "${deployment.token}"
  registry: "${deployment.registry}"
  deployedAtBlock: ${deployment.deployedAtBlock.toString()}

battery:
  chemistry: lifepo4
  cells: 4
  capacityAh: 6

panel:
  watts: 20

monitor:
  chip: ina226
  address: 0x40
  shuntOhms: 0.01
  maxAmps: 5

# wifi:
#   country: PT
#   ssid: your network name
#   password: your Wi-Fi password

hostname: sunpool-worker
`;
}

/** Printed at every LAN start: what is now open to everyone on the network. */
export function lanWarning(address: string, ports: { chain: number; scheduler: number; registry: number }): string {
  return `devnet: WARNING: --lan listens on ${address}, reachable by every device on this network:
  - the chain (port ${ports.chain.toString()}) accepts transactions signed with the Hardhat node's funded dev keys,
    which are public: anyone on the LAN can spend the devnet's test SUN and ETH;
  - the scheduler (port ${ports.scheduler.toString()}) and the image registry (port ${ports.registry.toString()}, plain HTTP, read-only)
    have no authentication.
  Use it on a network you trust (home, lab), never on a cafe's or a conference's Wi-Fi.`;
}

/**
 * Where the running loopback registry keeps its blobs: the `rootdirectory` of the config file a
 * `docker-registry serve <config>` process was started with (scripts/docker.sh writes it in the
 * checkout that started it first, which need not be this one). Undefined when none runs.
 */
export function runningRegistryData(proc = "/proc"): string | undefined {
  for (const pid of readdirSync(proc).filter((name) => /^[0-9]+$/.test(name))) {
    let argv: string[];
    try {
      argv = readFileSync(`${proc}/${pid}/cmdline`, "utf8").split("\0");
    } catch {
      continue; // the process ended while we looked
    }
    if (!(argv[0] ?? "").endsWith("docker-registry") || argv[1] !== "serve" || argv[2] === undefined) continue;
    try {
      const root = /^\s*rootdirectory:\s*(\S+)\s*$/m.exec(readFileSync(argv[2], "utf8"))?.[1];
      if (root !== undefined && !argv[2].endsWith("registry-lan.yml")) return root;
    } catch {
      continue;
    }
  }
  return undefined;
}
