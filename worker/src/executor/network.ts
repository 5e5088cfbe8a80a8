// The network of `network: true` tasks: the internet, but not the owner's LAN, the host itself,
// link-local or carrier-grade NAT addresses, nor other containers.
//
// - A dedicated bridge network (`sunpool-tasks`, Linux bridge `sunpool0`) with inter-container
//   traffic off (enable_icc=false), so the firewall can name the tasks' traffic by interface.
// - IPv4 FORWARD, in the engine's DOCKER-USER chain (which the engine jumps to before its own
//   rules and never flushes): traffic from the bridge to PRIVATE_IPV4 is rejected; the rest is
//   the engine's (masqueraded outbound).
// - IPv4 INPUT: everything from the bridge to the host itself is rejected (the bridge gateway, the
//   host's LAN and public addresses, services bound to 0.0.0.0, the engine's published ports).
// - IPv6: the task network has none (the container's IPv6 is switched off by sysctl, sandbox.ts),
//   and ip6tables drops anything from the bridge where ip6tables exists.
// - DNS: the engine's embedded resolver (127.0.0.11 inside the container) forwards queries from
//   the container's namespace, so they pass the same rules; a home router's resolver (192.168.x)
//   would be blocked. Network tasks therefore get `dns` servers (public ones by default,
//   executor.network.dns).
//
// The rules are installed at agent start (root on the Pi; the engine's own iptables backend) and
// checked with `iptables -C`; when that fails the agent refuses network tasks with the reason.
import { execFile } from "node:child_process";
import { promisify } from "node:util";

import type Docker from "dockerode";

import { NetworkIsolationError } from "./errors.js";
import { dockerError, statusCode } from "./images.js";
import { LABEL_MANAGED } from "./sandbox.js";

const run = promisify(execFile);

/** What network tasks are attached to (sandbox.ts); present only once the firewall is in place. */
export interface TaskNetwork {
  /** The engine's network name. */
  name: string;
  /** The Linux bridge interface (at most 15 characters). */
  bridge: string;
  /** DNS servers the tasks' resolver forwards to. */
  dns: readonly string[];
}

export const DEFAULT_TASK_NETWORK: TaskNetwork = { name: "sunpool-tasks", bridge: "sunpool0", dns: ["1.1.1.1", "9.9.9.9"] };

/** Destinations network tasks never reach (besides the host itself, rejected on INPUT). */
export const PRIVATE_IPV4 = [
  "0.0.0.0/8", // "this network"
  "10.0.0.0/8", // RFC 1918
  "100.64.0.0/10", // carrier-grade NAT (RFC 6598): the ISP's side of many home links
  "127.0.0.0/8", // loopback
  "169.254.0.0/16", // link-local (cloud metadata services, zeroconf)
  "172.16.0.0/12", // RFC 1918, and the engine's own networks
  "192.0.0.0/24", // IETF protocol assignments
  "192.168.0.0/16", // RFC 1918: the usual home LAN
  "224.0.0.0/4", // multicast (mDNS, SSDP on the LAN)
  "240.0.0.0/4", // reserved, and the limited broadcast address
] as const;

interface Rule {
  command: "iptables" | "ip6tables";
  chain: string;
  args: string[];
}

/** The chains and rules for `bridge`, as a pure function (asserted by the tests). */
export function firewallRules(bridge: string): { chains: Rule[]; jumps: Rule[] } {
  const forward = chainName("F", bridge);
  const input = chainName("I", bridge);
  const reject = ["-j", "REJECT", "--reject-with", "icmp-admin-prohibited"];
  return {
    // Flushed and refilled on every start, so an edited list takes effect.
    chains: [
      ...PRIVATE_IPV4.map((cidr): Rule => ({ command: "iptables", chain: forward, args: ["-d", cidr, ...reject] })),
      { command: "iptables", chain: forward, args: ["-j", "RETURN"] },
      { command: "iptables", chain: input, args: reject },
    ],
    jumps: [
      { command: "iptables", chain: "DOCKER-USER", args: ["-i", bridge, "-j", forward] },
      { command: "iptables", chain: "INPUT", args: ["-i", bridge, "-j", input] },
      { command: "ip6tables", chain: "FORWARD", args: ["-i", bridge, "-j", "DROP"] },
      { command: "ip6tables", chain: "INPUT", args: ["-i", bridge, "-j", "DROP"] },
    ],
  };
}

function chainName(kind: "F" | "I", bridge: string): string {
  return `SUNPOOL-${kind}-${bridge}`;
}

/**
 * Creates the task network if absent and installs its firewall; returns it for sandbox.ts.
 * Throws NetworkIsolationError (with the reason) when either cannot be done.
 */
export async function ensureTaskNetwork(docker: Docker, network: TaskNetwork = DEFAULT_TASK_NETWORK): Promise<TaskNetwork> {
  if (!/^[a-zA-Z0-9_-]{1,15}$/.test(network.bridge))
    throw new NetworkIsolationError(`bridge name ${JSON.stringify(network.bridge)} is not 1-15 letters, digits, - or _`);
  await ensureEngineNetwork(docker, network);
  const { chains, jumps } = firewallRules(network.bridge);
  const hasIp6tables = await iptables("ip6tables", ["-w", "-S", "INPUT"]).then(
    () => true,
    () => false,
  );
  try {
    for (const name of new Set(chains.map((rule) => rule.chain))) {
      await iptables("iptables", ["-w", "-N", name]).catch(() => undefined); // exists already
      await iptables("iptables", ["-w", "-F", name]);
    }
    for (const rule of chains) await iptables(rule.command, ["-w", "-A", rule.chain, ...rule.args]);
    for (const rule of jumps) {
      if (rule.command === "ip6tables" && !hasIp6tables) continue;
      const present = await iptables(rule.command, ["-w", "-C", rule.chain, ...rule.args]).then(
        () => true,
        () => false,
      );
      if (!present) await iptables(rule.command, ["-w", "-I", rule.chain, "1", ...rule.args]);
    }
    // Checked as installed, not assumed: a rule the kernel did not take fails here.
    for (const rule of [...chains, ...jumps]) {
      if (rule.command === "ip6tables" && !hasIp6tables) continue;
      if (rule.args.at(-1) === "RETURN") continue;
      await iptables(rule.command, ["-w", "-C", rule.chain, ...rule.args]);
    }
  } catch (error) {
    throw new NetworkIsolationError(describe(error), error);
  }
  return network;
}

/** Removes the firewall rules and the engine network (tests, uninstall); missing parts are fine. */
export async function removeTaskNetwork(docker: Docker, network: TaskNetwork): Promise<void> {
  const { chains, jumps } = firewallRules(network.bridge);
  for (const rule of jumps) {
    while (
      await iptables(rule.command, ["-w", "-D", rule.chain, ...rule.args]).then(
        () => true,
        () => false,
      )
    );
  }
  for (const name of new Set(chains.map((rule) => rule.chain))) {
    await iptables("iptables", ["-w", "-F", name]).catch(() => undefined);
    await iptables("iptables", ["-w", "-X", name]).catch(() => undefined);
  }
  try {
    await docker.getNetwork(network.name).remove();
  } catch (error) {
    if (statusCode(error) !== 404) throw dockerError(docker, error);
  }
}

async function ensureEngineNetwork(docker: Docker, network: TaskNetwork): Promise<void> {
  let info: { Driver?: string; Options?: Record<string, string> } | undefined;
  try {
    info = await docker.getNetwork(network.name).inspect();
  } catch (error) {
    if (statusCode(error) !== 404) throw dockerError(docker, error);
  }
  if (info === undefined) {
    try {
      await docker.createNetwork({
        Name: network.name,
        Driver: "bridge",
        CheckDuplicate: true,
        EnableIPv6: false,
        Internal: false,
        Labels: { [LABEL_MANAGED]: "true" },
        Options: {
          "com.docker.network.bridge.name": network.bridge,
          "com.docker.network.bridge.enable_icc": "false",
          "com.docker.network.bridge.enable_ip_masquerade": "true",
        },
      });
    } catch (error) {
      if (statusCode(error) === undefined) throw dockerError(docker, error);
      // Another worker on the same engine (the devnet) created it meanwhile: check that one.
      if (statusCode(error) === 409) return ensureEngineNetwork(docker, network);
      throw new NetworkIsolationError(`the engine could not create network ${network.name}: ${describe(error)}`, error);
    }
    return;
  }
  const bridge = info?.Options?.["com.docker.network.bridge.name"];
  if (info?.Driver !== "bridge" || bridge !== network.bridge) {
    throw new NetworkIsolationError(
      `network ${network.name} exists but is not a bridge named ${network.bridge} (driver ${info?.Driver ?? "?"}, bridge ${bridge ?? "unnamed"}); remove it (docker network rm ${network.name})`,
    );
  }
}

async function iptables(command: "iptables" | "ip6tables", args: string[]): Promise<void> {
  await run(command, args, { timeout: 10_000 });
}

function describe(error: unknown): string {
  const stderr = (error as { stderr?: unknown } | null)?.stderr;
  if (typeof stderr === "string" && stderr.trim() !== "") return stderr.trim().split("\n")[0]!;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === "ENOENT") return "iptables is not installed";
  return error instanceof Error ? error.message : String(error);
}
