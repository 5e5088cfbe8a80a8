// A `network: true` task against the owner's LAN. Every address probed is on this machine: the
// task network's gateway and the engine's docker0 gateway (this host), and a network namespace
// this test creates with a "LAN" address (10.213.7.10) and an address outside the private ranges
// (198.18.7.10, the benchmarking range), both behind veth pairs routed only to that namespace.
// Both serve HTTP; the host reaches both, the task only the non-private one.
import { spawn, execFile, type ChildProcess } from "node:child_process";
import { mkdtemp, writeFile, chmod } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

import { expect } from "chai";

import type { AppResources } from "../../../sdk/src/actions/assets.js";
import {
  ensureTaskNetwork,
  firewallRules,
  PRIVATE_IPV4,
  removeTaskNetwork,
  type TaskNetwork,
} from "../../../worker/src/executor/network.js";
import { findTaskContainers } from "../../../worker/src/executor/recovery.js";
import { runTask, type TaskRunResult } from "../../../worker/src/executor/run.js";
import { containerSpec } from "../../../worker/src/executor/sandbox.js";
import { buildTestImage, dockerClient, type TestImage } from "../../helpers/docker.js";

const sh = promisify(execFile);
const NETNS = "sp-test-lan";
const LAN = { host: "10.213.7.1", target: "10.213.7.10" };
const PUBLIC = { host: "198.18.7.1", target: "198.18.7.10" };
const NETWORK: TaskNetwork = { name: "sunpool-test-tasks", bridge: "sp-test0", dns: [PUBLIC.target] };
const RESOURCES: AppResources = { memoryMiB: 64, cpuMillicores: 1000, expectedSeconds: 5, maxOutputMiB: 1, network: true };

describe("executor: network tasks reach the internet, not the LAN or the host", function () {
  this.timeout(120_000);
  const docker = dockerClient();
  let shell: TestImage;
  let work: string;
  let httpd: ChildProcess | undefined;
  let host: Server;
  let hostPort: number;
  let gateway: string;
  let counter = 0;

  before(async function () {
    shell = await buildTestImage("shell");
    work = await mkdtemp(join(tmpdir(), "sunpool-net-"));
    await chmod(work, 0o700);
    // The namespace: two veth pairs, each a /24 that routes only between this host and the namespace.
    await teardownNamespace();
    await sh("ip", ["netns", "add", NETNS]);
    for (const [i, pair] of [LAN, PUBLIC].entries()) {
      await sh("ip", ["link", "add", `sp-h${i}`, "type", "veth", "peer", "name", `sp-n${i}`]);
      await sh("ip", ["link", "set", `sp-n${i}`, "netns", NETNS]);
      await sh("ip", ["addr", "add", `${pair.host}/24`, "dev", `sp-h${i}`]);
      await sh("ip", ["link", "set", `sp-h${i}`, "up"]);
      await sh("ip", ["-n", NETNS, "addr", "add", `${pair.target}/24`, "dev", `sp-n${i}`]);
      await sh("ip", ["-n", NETNS, "link", "set", `sp-n${i}`, "up"]);
    }
    await sh("ip", ["-n", NETNS, "link", "set", "lo", "up"]);
    const www = join(work, "www");
    await sh("mkdir", ["-p", www]);
    await writeFile(join(www, "index.html"), "served from the namespace\n");
    httpd = spawn("ip", ["netns", "exec", NETNS, "/bin/busybox", "httpd", "-f", "-p", "8080", "-h", www], { stdio: "ignore" });
    // A service of the host on all of its interfaces (as an owner's NAS UI or router admin might be).
    host = createServer((socket) => socket.end("host service\n")).listen(0, "0.0.0.0");
    await new Promise((resolve) => host.once("listening", resolve));
    hostPort = (host.address() as { port: number }).port;

    await ensureTaskNetwork(docker, NETWORK);
    const info = (await docker.getNetwork(NETWORK.name).inspect()) as { IPAM: { Config: { Gateway?: string }[] } };
    gateway = info.IPAM.Config[0]!.Gateway!;
    // Wait (bounded) for httpd to listen.
    for (let i = 0; i < 50; i++) {
      if (await fetchText(`http://${LAN.target}:8080/`).catch(() => undefined)) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  after(async function () {
    httpd?.kill("SIGKILL");
    host.close();
    await removeTaskNetwork(docker, NETWORK);
    await teardownNamespace();
  });

  afterEach(async function () {
    expect(await findTaskContainers(docker), "containers left behind").to.deep.equal([]);
  });

  async function fetchText(url: string): Promise<string> {
    const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return response.text();
  }

  async function teardownNamespace(): Promise<void> {
    await sh("ip", ["netns", "del", NETNS]).catch(() => undefined);
    for (const link of ["sp-h0", "sp-h1"]) await sh("ip", ["link", "del", link]).catch(() => undefined);
  }

  async function runNetworkTask(script: string, network: TaskNetwork | undefined = NETWORK): Promise<TaskRunResult> {
    counter += 1;
    return runTask(docker, {
      taskId: `0x${(0xe000 + counter).toString(16).padStart(64, "0")}`,
      app: { image: shell.image, imageDigest: shell.imageDigest, resources: RESOURCES },
      params: { args: [script] },
      outputDir: join(work, `out-${counter}`),
      timeoutSeconds: 30,
      ...(network === undefined ? {} : { network }),
    });
  }

  const printed = (result: TaskRunResult) =>
    Object.fromEntries(
      result.logs.stdout
        .split("\n")
        .filter((line) => /^[a-z0-9]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );

  it("rejects every private, link-local, CGNAT and multicast range, and everything to the host", function () {
    const { chains, jumps } = firewallRules("sunpool0");
    const rejected = chains.filter((rule) => rule.args[0] === "-d").map((rule) => rule.args[1]);
    expect(rejected).to.deep.equal([...PRIVATE_IPV4]);
    for (const range of ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16", "100.64.0.0/10"])
      expect(rejected).to.include(range);
    expect(chains.at(-1)).to.deep.include({
      chain: "SUNPOOL-I-sunpool0",
      args: ["-j", "REJECT", "--reject-with", "icmp-admin-prohibited"],
    });
    expect(jumps.map((rule) => `${rule.command} ${rule.chain} ${rule.args.join(" ")}`)).to.deep.equal([
      "iptables DOCKER-USER -i sunpool0 -j SUNPOOL-F-sunpool0",
      "iptables INPUT -i sunpool0 -j SUNPOOL-I-sunpool0",
      "ip6tables FORWARD -i sunpool0 -j DROP",
      "ip6tables INPUT -i sunpool0 -j DROP",
    ]);
  });

  it("puts network tasks on the task network with its DNS servers and no IPv6", function () {
    const spec = containerSpec({
      taskId: `0x${"ab".repeat(32)}`,
      app: { image: shell.image, imageDigest: shell.imageDigest, resources: RESOURCES },
      params: {},
      outputDir: "/tmp/out",
      network: NETWORK,
    });
    expect(spec.HostConfig).to.deep.include({
      NetworkMode: NETWORK.name,
      Dns: [PUBLIC.target],
      Sysctls: { "net.ipv6.conf.all.disable_ipv6": "1", "net.ipv6.conf.default.disable_ipv6": "1" },
    });
  });

  it("the targets are real: the host reaches both namespace addresses and its own service", async function () {
    expect(await fetchText(`http://${LAN.target}:8080/`)).to.equal("served from the namespace\n");
    expect(await fetchText(`http://${PUBLIC.target}:8080/`)).to.equal("served from the namespace\n");
    // And a container on the engine's default bridge (not a task) reaches the host's service.
    const probe = await docker.createContainer({
      Image: `${shell.image}@${shell.imageDigest}`,
      Cmd: [`nc -w 3 172.17.0.1 ${hostPort} </dev/null`],
      HostConfig: { NetworkMode: "bridge" },
    });
    try {
      await probe.start();
      await probe.wait();
      const logs = (await probe.logs({ stdout: true, stderr: true })).toString("utf8");
      expect(logs).to.include("host service");
    } finally {
      await probe.remove({ force: true });
    }
  });

  it("a task reaches the non-private address but not the LAN address, its gateway, docker0 or IPv6", async function () {
    const result = await runNetworkTask(
      [
        // busybox's static wget crashes in its resolver: plain HTTP over nc.
        `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${PUBLIC.target} 8080; echo public=$?`,
        `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${LAN.target} 8080; echo lan=$?`,
        `nc -w 3 ${gateway} ${hostPort} </dev/null; echo gateway=$?`,
        `nc -w 3 172.17.0.1 ${hostPort} </dev/null; echo docker0=$?`,
        `echo ipv6off=$(cat /proc/sys/net/ipv6/conf/all/disable_ipv6)`,
        "echo resolver=$(grep nameserver /etc/resolv.conf | head -1 | cut -d' ' -f2)",
      ].join("\n"),
    );
    expect(result.status, result.logs.stderr).to.equal("succeeded");
    expect(result.logs.stdout).to.include("served from the namespace");
    expect(result.logs.stdout).to.not.include("host service");
    expect(printed(result)).to.deep.include({
      public: "0",
      lan: "1",
      gateway: "1",
      docker0: "1",
      ipv6off: "1",
      // The engine's embedded resolver, which forwards to NETWORK.dns (not queried here: no packet
      // may leave this machine).
      resolver: "127.0.0.11",
    });
  });

  it("sets up idempotently (a restart re-checks the rules) and refuses with a clear error when it cannot", async function () {
    await ensureTaskNetwork(docker, NETWORK);
    const { stdout } = await sh("iptables", ["-S", "DOCKER-USER"]);
    expect(stdout.split("\n").filter((line) => line.includes("-i sp-test0"))).to.have.length(1);
    let error: unknown;
    try {
      await ensureTaskNetwork(docker, { ...NETWORK, name: "bridge" });
    } catch (caught) {
      error = caught;
    }
    expect((error as Error).message).to.include(
      "Network tasks are refused: their isolation from private addresses could not be set up (network bridge exists but is not a bridge named sp-test0",
    );
  });
});
