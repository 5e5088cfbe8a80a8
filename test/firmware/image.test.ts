// The worker image, proven on the build machine: built from Debian's archive and the npm registry
// (firmware-scripts/build-image.sh, the slow part: the base takes minutes under qemu and is cached
// in build/firmware/cache), inspected partition by partition without mounting anything, and its
// root file system's worker run under qemu user-mode emulation against a devnet: the arm64 Node and
// native addons load, provisioning makes the wallet, and the agent reads the simulated Witty Pi and
// battery and completes a task for a requester.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { stringify } from "yaml";

import { freeDevnetPorts, REPO_ROOT, sunpool, useDevnet, waitForStatus, type CliOutcome } from "../e2e/helpers.js";

const OUT = join(REPO_ROOT, "build/firmware/test-out");
const ROOTFS = join(OUT, "rootfs");
const BOOT_OFFSET = 4 * 1024 * 1024;
const { chainPort: CHAIN_PORT, schedulerPort: SCHEDULER_PORT } = await freeDevnetPorts();

interface BuildSummary {
  image: string;
  bytes: number;
  sha256: string;
  kernel: string;
  node: string;
  stageSeconds: Record<string, number>;
}

function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): string {
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, ...options });
  if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${String(result.status)}:\n${result.stderr}`);
  return result.stdout;
}

/** Runs a command inside the image's root file system under qemu (firmware-scripts/lib.sh in_root). */
function inImage(binds: string[], args: string[], timeoutMs: number): Promise<CliOutcome> {
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", '. firmware-scripts/lib.sh && in_root "$@"', "in-image", ROOTFS, ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, CHROOT_BINDS: binds.join(" ") },
      detached: true,
    });
    // bash runs its unmount trap only once the chrooted command is gone: end the whole group, then
    // let release_mounts (customize.sh, and after() here) clean up.
    const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), timeoutMs);
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Mount points under the image's root file system (none once every chroot command has ended). */
function mountsUnder(root: string): string[] {
  return run("findmnt", ["-rno", "TARGET"])
    .split("\n")
    .filter((target) => target.startsWith(`${root}/`));
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

describe("firmware image: built reproducibly on x86_64, proven under arm64 emulation", function () {
  this.timeout(60 * 60_000);
  let summary: BuildSummary;
  let image: string;

  before(function () {
    const result = spawnSync("bash", ["firmware-scripts/build-image.sh", "--no-compress", "--out", OUT], {
      cwd: REPO_ROOT,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    });
    expect(result.status, "build-image.sh failed (its log is above)").to.equal(0);
    summary = JSON.parse(result.stdout.trim().split("\n").pop()!) as BuildSummary;
    image = join(OUT, summary.image);
    console.log(
      `      image ${summary.image}: ${(summary.bytes / 2 ** 20).toFixed(0)} MiB, stages (s) ${JSON.stringify(summary.stageSeconds)}`,
    );
  });

  it("is an MBR disk: a bootable FAT32 partition at 4 MiB, then the ext4 root, labelled as cmdline.txt expects", function () {
    const table = (
      JSON.parse(run("sfdisk", ["--json", image])) as { partitiontable: { label: string; partitions: Record<string, unknown>[] } }
    ).partitiontable;
    expect(table.label).to.equal("dos");
    expect(table.partitions).to.have.length(2);
    expect(table.partitions[0]).to.include({ start: 8192, type: "c", bootable: true });
    expect(table.partitions[1]).to.include({ type: "83" });
    const rootOffset = Number(table.partitions[1]!.start) * 512;
    expect(run("blkid", ["-p", "-O", String(BOOT_OFFSET), "-o", "export", image])).to.include("LABEL=RASPIFIRM");
    expect(run("blkid", ["-p", "-O", String(rootOffset), "-o", "export", image])).to.include("LABEL=RASPIROOT");
    // The root partition holds the staged tree: read back through e2fsprogs, no mount needed.
    const debugfs = (request: string) => run("debugfs", ["-R", request, `${image}?offset=${String(rootOffset)}`]);
    expect(debugfs("cat /etc/fstab")).to.include("LABEL=RASPIFIRM  /boot/firmware vfat");
    expect(debugfs("ls -p /opt/sunpool/worker/dist")).to.include("cli.js");
    expect(debugfs("cat /etc/systemd/system/sunpool-worker.service")).to.include("ExecStart=/usr/local/bin/sunpool-worker start");
  });

  it("boots a Pi 3B+, 4 or Zero 2 W: firmware, kernel, their device trees with I2C bus 1 on, memory cgroup on", function () {
    const files = run("mdir", ["-b", "-i", `${image}@@${String(BOOT_OFFSET)}`, "::/"], {
      env: { ...process.env, MTOOLS_SKIP_CHECK: "1" },
    });
    const names = files.split("\n").map((line) => line.replace(/^::\//, "").trim());
    for (const name of ["bootcode.bin", "start4.elf", "fixup4.dat", "config.txt", "cmdline.txt", "sunpool.example.yaml"])
      expect(names).to.include(name);
    expect(names).to.include(`vmlinuz-${summary.kernel}`);
    expect(names).to.include(`initrd.img-${summary.kernel}`);
    const read = (name: string) =>
      run("mtype", ["-i", `${image}@@${String(BOOT_OFFSET)}`, `::/${name}`], { env: { ...process.env, MTOOLS_SKIP_CHECK: "1" } });
    const config = read("config.txt");
    expect(config).to.include("arm_64bit=1").and.include("enable_uart=1").and.include("gpio=4=ip,pu");
    const cmdline = read("cmdline.txt");
    expect(cmdline).to.include("root=LABEL=RASPIROOT").and.include("cgroup_enable=memory").and.include("console=ttyS1,115200");
    // A cma= argument makes a Pi 4 unbootable (Debian's own warning).
    expect(cmdline).to.not.match(/\bcma=/);
    for (const board of ["bcm2837-rpi-3-b-plus", "bcm2711-rpi-4-b", "bcm2837-rpi-zero-2-w"]) {
      expect(names).to.include(`${board}.dtb`);
      // The header's I2C (GPIO2/3), where the Witty Pi and the INA sit, is the controller at 0x7e804000.
      expect(run("fdtget", [join(OUT, "bootfs", `${board}.dtb`), "/soc/i2c@7e804000", "status"]).trim()).to.equal("okay");
    }
  });

  it("carries no secret and no machine identity; the worker, provisioning and power-off hook are enabled, SSH is not", function () {
    expect(readdirSync(join(ROOTFS, "etc/ssh")).filter((name) => name.startsWith("ssh_host_"))).to.deep.equal([]);
    expect(readFileSync(join(ROOTFS, "etc/machine-id"), "utf8")).to.equal("");
    expect(existsSync(join(ROOTFS, "var/lib/sunpool/keystore.json"))).to.equal(false);
    expect(readdirSync(join(ROOTFS, "boot/firmware"))).to.deep.equal([]);
    const wants = (target: string) => readdirSync(join(ROOTFS, "etc/systemd/system", `${target}.wants`));
    expect(wants("multi-user.target")).to.include.members([
      "sunpool-grow-root.service",
      "sunpool-provision.service",
      "sunpool-worker.service",
      "docker.service",
      "systemd-networkd.service",
    ]);
    expect(wants("multi-user.target")).to.not.include("ssh.service");
    expect(wants("poweroff.target")).to.include("sunpool-wake-alarm.service");
    expect(readFileSync(join(ROOTFS, "etc/shadow"), "utf8")).to.match(/^owner:!/m);
    expect(lstatSync(join(ROOTFS, "etc/resolv.conf")).isSymbolicLink()).to.equal(true);
  });

  it("lists every Debian and npm package with its version, and SHA256SUMS matches the image", function () {
    const debian = readFileSync(join(OUT, "manifest/debian-packages.tsv"), "utf8");
    for (const name of ["docker.io", "linux-image-arm64", "raspi-firmware", "systemd", "wpasupplicant"])
      expect(debian).to.match(
        new RegExp(`^${name.replace(".", "\\.")}\\t\\S+\\tarm64|^${name.replace(".", "\\.")}\\t\\S+\\tall`, "m"),
      );
    const npm = readFileSync(join(OUT, "manifest/npm-packages.tsv"), "utf8");
    for (const name of ["@sunpool/worker", "@sunpool/sdk", "ethers", "helia", "dockerode", "i2c-bus", "onoff", "epoll"])
      expect(npm).to.match(new RegExp(`^${name}\\t\\d+\\.\\d+\\.\\d+`, "m"));
    expect(readFileSync(join(OUT, "SHA256SUMS"), "utf8")).to.equal(`${sha256(image)}  ${summary.image}\n`);
    expect(statSync(image).size).to.equal(summary.bytes);
  });

  it("assembling the same file systems again gives the same bytes", function () {
    const again = join(OUT, "again.img");
    run("bash", [join(REPO_ROOT, "firmware-scripts/assemble-image.sh"), OUT, again], {
      env: { ...process.env, SOURCE_DATE_EPOCH: run("git", ["-C", REPO_ROOT, "log", "-1", "--format=%ct"]).trim() },
    });
    try {
      expect(sha256(again)).to.equal(summary.sha256);
    } finally {
      void rm(again, { force: true });
    }
  });

  after(function () {
    const left = mountsUnder(ROOTFS);
    if (left.length > 0) run("bash", ["-c", '. "$0/firmware-scripts/lib.sh" && release_mounts "$1"', REPO_ROOT, ROOTFS]);
    expect(left, "mounts left under the root file system").to.deep.equal([]);
  });

  describe("its worker, run under qemu against a devnet with no worker of its own", function () {
    const devnet = useDevnet({ chainPort: CHAIN_PORT, schedulerPort: SCHEDULER_PORT, args: ["--workers", "0"] });

    it("provisions a wallet, loads its arm64 addons, reads the simulated Witty Pi and battery, and completes a task", async function () {
      const info = devnet().info();
      const card = mkdtempSync(join(tmpdir(), "sunpool-card-"));
      const boot = join(card, "boot");
      mkdirSync(boot);
      // The Docker engine is the build machine's: the worker's task folders must have the same path
      // inside the chroot and outside, so they live in a folder bound at its own path.
      const data = mkdtempSync(join(tmpdir(), "sunpool-image-worker-"));
      const deployment = JSON.parse(readFileSync(join(devnet().state, "devnet.json"), "utf8")) as {
        deployment: { chainId: string; hub: string; token: string; registry: string; deployedAtBlock?: number };
      };
      writeFileSync(
        join(boot, "sunpool.yaml"),
        stringify({
          pool: { scheduler: info.schedulerUrl, workerpool: info.workerpool },
          chain: {
            rpc: info.rpcUrl,
            chainId: Number(deployment.deployment.chainId),
            hub: info.deployment.hub,
            token: info.deployment.token,
            registry: info.deployment.registry,
          },
          battery: { chemistry: "lifepo4", cells: 4, capacityAh: 6 },
          panel: { watts: 30 },
          hostname: "roof-1",
        }),
      );
      const binds = [`${boot}:/boot/firmware`, `${data}:${data}`, "/var/run/docker.sock:/run/docker.sock"];
      try {
        const provisioned = await inImage(binds, ["/usr/local/bin/sunpool-worker", "provision", "--json"], 600_000);
        expect(provisioned.code, provisioned.stderr).to.equal(0);
        const wallet = JSON.parse(provisioned.stdout) as { address: string; createdWallet: boolean };
        expect(wallet.createdWallet).to.equal(true);
        expect(readFileSync(join(boot, "sunpool-worker-address.txt"), "utf8").trim()).to.equal(wallet.address);

        // The test's variant of the provisioned config: its task folders at a shared path, a fast heartbeat.
        const config = JSON.parse(readFileSync(join(ROOTFS, "etc/sunpool/worker.config.json"), "utf8")) as Record<
          string,
          unknown
        >;
        writeFileSync(
          join(ROOTFS, "etc/sunpool/self-test.config.json"),
          JSON.stringify({ ...config, dataDir: data, heartbeatSeconds: 2, metrics: undefined }),
        );
        const funded = spawnSync(process.execPath, ["devnet/fund.ts", wallet.address], {
          cwd: REPO_ROOT,
          env: { ...process.env, SUNPOOL_DEVNET_STATE: devnet().state },
          encoding: "utf8",
        });
        expect(funded.status, funded.stderr).to.equal(0);

        const selfTest = inImage(
          binds,
          [
            "/usr/local/bin/sunpool-worker",
            "self-test",
            "--config",
            "/etc/sunpool/self-test.config.json",
            "--simulate",
            "--task",
            "--timeout",
            "1200",
            "--json",
          ],
          1_500_000,
        );
        await waitForStatus(info, (status) => status.workers.online >= 1, 600_000, "the emulated worker's first heartbeat");
        const project = mkdtempSync(join(tmpdir(), "sunpool-image-requester-"));
        const requested = await sunpool(info, project, [
          "run",
          info.apps.primes!.id,
          "--arg",
          "20000",
          "--out",
          "primes",
          "--json",
        ]);
        expect(requested.code, requested.stderr).to.equal(0);
        const outcome = JSON.parse(requested.stdout) as {
          tasks: { outcome: string; folder?: string; energy?: { worker: string; milliwattHours: number }[] }[];
        };
        expect(outcome.tasks[0]!.outcome).to.equal("completed");
        expect(readFileSync(join(outcome.tasks[0]!.folder!, "primes.txt"), "utf8")).to.include("count 2262"); // π(20000)
        expect(outcome.tasks[0]!.energy!.map((receipt) => receipt.worker.toLowerCase())).to.deep.equal([
          wallet.address.toLowerCase(),
        ]);

        const tested = await selfTest;
        expect(tested.code, tested.stderr).to.equal(0);
        const checks = (JSON.parse(tested.stdout) as { checks: { name: string; ok: boolean; detail: string }[] }).checks;
        const detail = (name: string) => checks.find((check) => check.name === name);
        expect(detail("runtime")).to.deep.include({ ok: true });
        expect(detail("runtime")!.detail).to.include(`Node v${summary.node} on linux/arm64`);
        expect(detail("native addons")).to.deep.include({ ok: true });
        expect(detail("board")!.detail).to.match(/^simulated Witty Pi 4 firmware 0x26 rev \d+, .*battery 1[23]\.\d+ V/);
        expect(detail("task")).to.deep.include({ ok: true });
      } finally {
        await rm(card, { recursive: true, force: true });
        await rm(data, { recursive: true, force: true });
        await rm(join(ROOTFS, "var/lib/sunpool"), { recursive: true, force: true });
        mkdirSync(join(ROOTFS, "var/lib/sunpool"), { mode: 0o700 });
      }
    });
  });
});
