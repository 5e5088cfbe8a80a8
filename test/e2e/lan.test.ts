// `npm run devnet -- --lan`: the choice of address (pure, on made-up interface lists) and a real
// devnet on a LAN that this test makes itself. No second machine: a network namespace plays the
// Pi's side of the network, behind a veth pair whose host end (10.213.9.1) is the "laptop's LAN
// address". Every request goes to that address, from inside the namespace as a Pi's would, or to
// loopback; nothing leaves the machine.
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import type { NetworkInterfaceInfo } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { expect } from "chai";
import pg from "pg";

import {
  chooseLanAddress,
  engineTrustsRegistry,
  LanError,
  lanRegistryConfig,
  onRegistry,
  piOwnerFile,
  takeLanFlag,
} from "../../devnet/lan.js";
import { getApp } from "../../sdk/src/actions/assets.js";
import { createSunpoolClient } from "../../sdk/src/client.js";
import { parseDeployment } from "../../sdk/src/deployment.js";
import { parseOwnerFile } from "../../worker/src/device/ownerFile.js";
import { freeDevnetPorts, startDevnet, waitForDevnet, type DevnetInfo, type RunningDevnet } from "./helpers.js";

const sh = promisify(execFile);

function nic(address: string, internal = false): NetworkInterfaceInfo {
  return { address, netmask: "255.255.255.0", family: "IPv4", mac: "00:00:00:00:00:00", internal, cidr: `${address}/24` };
}
const v6: NetworkInterfaceInfo = {
  address: "fd00::2",
  netmask: "ffff:ffff:ffff:ffff::",
  family: "IPv6",
  mac: "00:00:00:00:00:00",
  internal: false,
  cidr: "fd00::2/64",
  scopeid: 0,
};

function lanError(call: () => unknown): LanError {
  try {
    call();
  } catch (error) {
    if (error instanceof LanError) return error;
    throw error;
  }
  throw new Error("expected a LanError");
}

describe("devnet --lan: choosing the address", function () {
  it("picks the first private IPv4 address, past loopback, IPv6, container bridges and public addresses", function () {
    const interfaces = {
      lo: [nic("127.0.0.1", true)],
      docker0: [nic("172.17.0.1")],
      eth0: [v6, nic("203.0.113.7")],
      wlan0: [nic("192.168.1.23")],
      eth1: [nic("10.0.0.5")],
    };
    expect(chooseLanAddress(interfaces)).to.equal("192.168.1.23");
    expect(chooseLanAddress({ en0: [nic("172.31.255.4")] })).to.equal("172.31.255.4");
  });

  it("refuses a machine with only public or no non-loopback addresses, and says why", function () {
    const publicOnly = lanError(() => chooseLanAddress({ lo: [nic("127.0.0.1", true)], eth0: [nic("192.0.2.2"), v6] }));
    expect(publicOnly.code).to.equal("LAN_NOT_PRIVATE");
    expect(publicOnly.message).to.contain("192.0.2.2 on eth0").and.contain("funded dev keys");
    // 172.32/16 and 192.169/16 are just outside the private ranges.
    expect(lanError(() => chooseLanAddress({ eth0: [nic("172.32.0.1"), nic("192.169.0.1")] })).code).to.equal("LAN_NOT_PRIVATE");
    expect(lanError(() => chooseLanAddress({ lo: [nic("127.0.0.1", true)], docker0: [nic("172.17.0.1")] })).code).to.equal(
      "LAN_NO_ADDRESS",
    );
  });

  it("takes --lan <address> only when it is private and one of the machine's", function () {
    const interfaces = { eth0: [nic("192.168.1.23")], docker0: [nic("172.17.0.1")], eth1: [nic("198.51.100.4")] };
    expect(chooseLanAddress(interfaces, "192.168.1.23")).to.equal("192.168.1.23");
    // Named explicitly, a bridge's address is the owner's choice (a lab network behind it).
    expect(chooseLanAddress(interfaces, "172.17.0.1")).to.equal("172.17.0.1");
    const elsewhere = lanError(() => chooseLanAddress(interfaces, "192.168.1.99"));
    expect(elsewhere.code).to.equal("LAN_NOT_HERE");
    expect(elsewhere.message).to.contain("192.168.1.23 on eth0");
    expect(lanError(() => chooseLanAddress(interfaces, "198.51.100.4")).code).to.equal("LAN_NOT_PRIVATE");
    expect(lanError(() => chooseLanAddress(interfaces, "192.168.1.256")).code).to.equal("LAN_BAD_ADDRESS");
    expect(lanError(() => chooseLanAddress(interfaces, "laptop.local")).code).to.equal("LAN_BAD_ADDRESS");
  });

  it("reads --lan with or without a value", function () {
    expect(takeLanFlag(["--workers", "0"])).to.deep.equal({ args: ["--workers", "0"], lan: undefined });
    expect(takeLanFlag(["--lan"])).to.deep.equal({ args: [], lan: "" });
    expect(takeLanFlag(["--lan", "--workers", "0"])).to.deep.equal({ args: ["--workers", "0"], lan: "" });
    expect(takeLanFlag(["--lan", "10.0.0.5", "--reset"])).to.deep.equal({ args: ["--reset"], lan: "10.0.0.5" });
    expect(takeLanFlag(["--lan=10.0.0.5"])).to.deep.equal({ args: [], lan: "10.0.0.5" });
    expect(lanError(() => takeLanFlag(["--lan", "--lan=10.0.0.5"])).code).to.equal("LAN_FLAG");
    expect(lanError(() => takeLanFlag(["--lan="])).code).to.equal("LAN_FLAG");
  });

  it("knows when the local Docker engine pulls from the plain-HTTP registry", function () {
    expect(engineTrustsRegistry({ InsecureRegistryCIDRs: ["127.0.0.0/8"] }, "192.168.1.23:5000")).to.equal(false);
    expect(engineTrustsRegistry({ InsecureRegistryCIDRs: ["127.0.0.0/8", "192.168.0.0/16"] }, "192.168.1.23:5000")).to.equal(
      true,
    );
    expect(engineTrustsRegistry({ InsecureRegistryCIDRs: ["192.168.2.0/24"] }, "192.168.1.23:5000")).to.equal(false);
    expect(engineTrustsRegistry({ IndexConfigs: { "192.168.1.23:5000": { Secure: false } } }, "192.168.1.23:5000")).to.equal(
      true,
    );
    expect(engineTrustsRegistry({ IndexConfigs: { "192.168.1.23:5000": { Secure: true } } }, "192.168.1.23:5000")).to.equal(
      false,
    );
    expect(engineTrustsRegistry({}, "192.168.1.23:5000")).to.equal(false);
  });

  it("renames the pushed images onto the LAN registry and writes a read-only registry config", function () {
    expect(onRegistry("127.0.0.1:5000/sunpool-demo/primes", "127.0.0.1:5000", "10.0.0.5:5000")).to.equal(
      "10.0.0.5:5000/sunpool-demo/primes",
    );
    expect(() => onRegistry("127.0.0.1:5001/sunpool-demo/primes", "127.0.0.1:5000", "10.0.0.5:5000")).to.throw(/not pushed to/);
    const config = lanRegistryConfig("10.0.0.5:5000", "/data");
    expect(config)
      .to.match(/readonly:\n\s+enabled: true/)
      .and.match(/addr: 10\.0\.0\.5:5000\n/);
  });

  it("writes a sunpool.yaml that the Pi's own parser accepts, with the LAN URLs and the deployment", function () {
    const deployment = {
      chainId: 31337n,
      hub: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
      token: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512",
      registry: "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0",
      deployedAtBlock: 3,
    };
    const owner = parseOwnerFile(
      piOwnerFile({
        schedulerUrl: "http://192.168.1.23:7300",
        workerpool: `0x${"ab".repeat(32)}`,
        rpcUrl: "http://192.168.1.23:8545",
        deployment,
      }),
    );
    expect(owner.pool).to.deep.equal({ scheduler: "http://192.168.1.23:7300", workerpool: `0x${"ab".repeat(32)}` });
    expect(owner.chain).to.deep.equal({ ...deployment, chainId: 31337, rpc: "http://192.168.1.23:8545" });
    expect(owner.wifi).to.equal(undefined);
  });
});

const NETNS = "sp-test-devnet-lan";
const LAN = { laptop: "10.213.9.1", pi: "10.213.9.10" };
const { chainPort: CHAIN_PORT, schedulerPort: SCHEDULER_PORT } = await freeDevnetPorts();

/** An HTTP request from inside the namespace, as the Pi would make it: status and body, or the connection error. */
async function fromPi(
  url: string,
  init: { method?: string; body?: string; accept?: string } = {},
): Promise<{ status: number; body: string }> {
  const script = `
    const init = ${JSON.stringify(init)};
    try {
      const response = await fetch(${JSON.stringify(url)}, {
        method: init.method ?? "GET",
        headers: { "content-type": "application/json", accept: init.accept ?? "*/*" },
        body: init.body,
        signal: AbortSignal.timeout(10000),
      });
      console.log(JSON.stringify({ status: response.status, body: await response.text() }));
    } catch (error) {
      console.log(JSON.stringify({ status: 0, body: String(error.cause?.code ?? error.message) }));
    }`;
  const { stdout } = await sh("ip", ["netns", "exec", NETNS, process.execPath, "--input-type=module", "-e", script], {
    timeout: 30_000,
  });
  return JSON.parse(stdout) as { status: number; body: string };
}

async function teardownNamespace(): Promise<void> {
  await sh("ip", ["link", "del", "sp-lanh0"]).catch(() => undefined);
  await sh("ip", ["netns", "del", NETNS]).catch(() => undefined);
}

describe("devnet --lan: a Pi's view of a laptop's devnet", function () {
  this.timeout(300_000);
  let devnet: RunningDevnet | undefined;
  let info: DevnetInfo & { lan: { address: string; registry: string; piOwnerFile: string } };
  let refused: RunningDevnet;

  before(async function () {
    await teardownNamespace();
    await sh("ip", ["netns", "add", NETNS]);
    await sh("ip", ["link", "add", "sp-lanh0", "type", "veth", "peer", "name", "sp-lann0"]);
    await sh("ip", ["link", "set", "sp-lann0", "netns", NETNS]);
    await sh("ip", ["addr", "add", `${LAN.laptop}/24`, "dev", "sp-lanh0"]);
    await sh("ip", ["link", "set", "sp-lanh0", "up"]);
    await sh("ip", ["-n", NETNS, "addr", "add", `${LAN.pi}/24`, "dev", "sp-lann0"]);
    await sh("ip", ["-n", NETNS, "link", "set", "sp-lann0", "up"]);
    await sh("ip", ["-n", NETNS, "link", "set", "lo", "up"]);
    // First, with workers of its own, before the LAN registry's port is taken.
    refused = startDevnet({
      chainPort: CHAIN_PORT,
      schedulerPort: SCHEDULER_PORT,
      args: ["--lan", LAN.laptop, "--workers", "1"],
    });
    await refused.exited;
    // The laptop's pool as an operator would run it for others: its state in PostgreSQL.
    devnet = startDevnet({
      chainPort: CHAIN_PORT,
      schedulerPort: SCHEDULER_PORT,
      args: ["--workers", "0", "--lan", LAN.laptop, "--postgres"],
    });
    await waitForDevnet(devnet);
    info = devnet.info() as typeof info;
  });

  after(async function () {
    if (devnet !== undefined && devnet.child.exitCode === null) {
      devnet.child.kill("SIGINT");
      expect(await devnet.exited, devnet.output()).to.equal(0);
    }
    await teardownNamespace();
  });

  it("refuses simulated workers of its own when this machine's Docker would not pull from the LAN registry", async function () {
    // scripts/docker.sh starts the engine with Docker's defaults: plain HTTP from loopback only.
    const { stdout } = await sh("docker", ["info", "--format", "{{json .RegistryConfig.InsecureRegistryCIDRs}}"]);
    expect(JSON.parse(stdout)).to.deep.equal(["127.0.0.0/8"]);
    expect(await refused.exited, refused.output()).to.equal(1);
    expect(refused.output())
      .to.contain(`does not pull from the plain-HTTP registry ${LAN.laptop}:5000`)
      .and.contain("insecure-registries");
  });

  it("warns that the dev keys and the scheduler are open to the LAN", function () {
    expect(devnet!.output()).to.contain(`WARNING: --lan listens on ${LAN.laptop}`).and.contain("funded dev keys");
    expect(info.lan).to.deep.equal({
      address: LAN.laptop,
      registry: `${LAN.laptop}:5000`,
      piOwnerFile: join(devnet!.state, "pi/sunpool.yaml"),
    });
    expect(info.rpcUrl).to.equal(`http://${LAN.laptop}:${CHAIN_PORT.toString()}`);
    expect(info.schedulerUrl).to.equal(`http://${LAN.laptop}:${SCHEDULER_PORT.toString()}`);
  });

  it("with --postgres, the scheduler keeps its state in the local PostgreSQL server, not in SQLite", async function () {
    const store = (devnet!.info() as DevnetInfo & { store: { postgres?: string; sqlite?: string } }).store;
    expect(store.postgres).to.match(
      /^postgres:\/\/sunpool@127\.0\.0\.1:\d+\/sunpool\?options=-c%20search_path%3Dsunpool_devnet$/,
    );
    expect(devnet!.output()).to.match(
      /state in PostgreSQL, postgres:\/\/sunpool@127\.0\.0\.1:\d+\/sunpool schema sunpool_devnet/,
    );
    const client = new pg.Client({ connectionString: store.postgres });
    await client.connect();
    try {
      // The devnet published the pool's and the apps' orders through the scheduler: they are rows there.
      const { rows } = await client.query<{ kind: string }>("SELECT DISTINCT kind FROM orders ORDER BY kind");
      expect(rows.map((row) => row.kind)).to.include.members(["app", "workerpool"]);
    } finally {
      await client.end();
    }
    expect(existsSync(join(devnet!.state, "run/scheduler/scheduler.sqlite")), "no SQLite file").to.equal(false);
  });

  it("serves the chain, the scheduler and its IPFS node on the LAN address, not on loopback", async function () {
    const chainId = await fromPi(info.rpcUrl, {
      method: "POST",
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
    });
    expect(chainId.status, chainId.body).to.equal(200);
    expect((JSON.parse(chainId.body) as { result: string }).result).to.equal("0x7a69");

    const status = await fromPi(`${info.schedulerUrl}/v1/status`);
    expect(status.status, status.body).to.equal(200);
    expect(JSON.parse(status.body)).to.have.nested.property("workers.online", 0);
    const schedulerInfo = await fromPi(`${info.schedulerUrl}/v1/info`);
    expect(schedulerInfo.status, schedulerInfo.body).to.equal(200);
    const peers = (JSON.parse(schedulerInfo.body) as { ipfsPeers: string[] }).ipfsPeers;
    expect(
      peers.some((peer) => peer.startsWith(`/ip4/${LAN.laptop}/tcp/`)),
      peers.join(" "),
    ).to.equal(true);

    // Bound to the LAN address only: the same ports on loopback are closed.
    const loopback = await fetch(`http://127.0.0.1:${CHAIN_PORT.toString()}`, { signal: AbortSignal.timeout(5_000) }).then(
      () => "answered",
      (error: Error & { cause?: { code?: string } }) => error.cause?.code,
    );
    expect(loopback).to.equal("ECONNREFUSED");
  });

  it("registers the demo apps with images on the LAN registry, which serves them to the Pi", async function () {
    const client = await createSunpoolClient({
      deployment: parseDeployment(
        (JSON.parse(readFileSync(join(devnet!.state, "devnet.json"), "utf8")) as { deployment: unknown }).deployment,
      ),
      rpcUrl: info.rpcUrl,
    });
    try {
      for (const [name, app] of Object.entries(info.apps)) {
        const onChain = await getApp(client, app.id);
        expect(onChain.image).to.equal(`${LAN.laptop}:5000/sunpool-demo/${name}`);
        const manifest = await fromPi(`http://${LAN.laptop}:5000/v2/sunpool-demo/${name}/manifests/${onChain.imageDigest}`, {
          accept: "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json",
        });
        expect(manifest.status, manifest.body).to.equal(200);
        expect(
          (JSON.parse(manifest.body) as { manifests: { platform: { architecture: string } }[] }).manifests.map(
            (m) => m.platform.architecture,
          ),
        ).to.include("arm64");
      }
    } finally {
      client.provider.destroy();
    }
    // Read-only: nobody on the LAN can push.
    const upload = await fromPi(`http://${LAN.laptop}:5000/v2/sunpool-demo/evil/blobs/uploads/`, { method: "POST" });
    expect(upload.status, upload.body).to.equal(405);
  });

  it("writes the Pi's sunpool.yaml with the LAN URLs and this chain's deployment", function () {
    const owner = parseOwnerFile(readFileSync(info.lan.piOwnerFile, "utf8"));
    expect(owner.pool).to.deep.equal({ scheduler: info.schedulerUrl, workerpool: info.workerpool });
    expect(owner.chain.rpc).to.equal(info.rpcUrl);
    expect(owner.chain.hub).to.equal(info.deployment.hub);
    expect(owner.chain.registry).to.equal(info.deployment.registry);
    expect(devnet!.output()).to.contain("A Pi on this network").and.contain("pi/sunpool.yaml");
  });

  it("stops the LAN registry with the devnet", async function () {
    devnet!.child.kill("SIGINT");
    expect(await devnet!.exited, devnet!.output()).to.equal(0);
    const registry = await fromPi(`http://${LAN.laptop}:5000/v2/`);
    expect(registry).to.deep.equal({ status: 0, body: "ECONNREFUSED" });
  });
});
