// The device commands the Pi image runs around the agent: provisioning from the owner's
// sunpool.yaml (wallet once, files every boot, crash-safe), and the power-off hook's wake-up alarm,
// driven through the real Witty Pi driver against the register-level simulator.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { stringify } from "yaml";

import { parseDeployment } from "../../sdk/src/deployment.js";
import { readKeystore } from "../../sdk/src/node/keystore.js";
import { loadConfig, SetupError } from "../../worker/src/config.js";
import { parseOwnerFile } from "../../worker/src/device/ownerFile.js";
import { BOOT_FILES, IMAGE_PATHS, provision, ProvisionError } from "../../worker/src/device/provision.js";
import { armWakeAlarm, nextOccurrence } from "../../worker/src/device/wakeAlarm.js";
import { slotOf } from "../../worker/src/energy/forecast.js";
import { WittyPi4 } from "../../worker/src/hardware/wittyPi4.js";
import { boardOn, NIGHT, simulate } from "./simulator/fixtures.js";

const CLI = new URL("../../worker/dist/cli.js", import.meta.url).pathname;
const EXAMPLE = new URL("../../firmware-scripts/overlay/boot/firmware/sunpool.example.yaml", import.meta.url);

const OWNER = {
  pool: {
    scheduler: "http://127.0.0.1:7300",
    workerpool: `0x${"ab".repeat(32)}`,
  },
  chain: {
    rpc: "http://127.0.0.1:8545",
    chainId: 31337,
    hub: `0x${"11".repeat(20)}`,
    token: `0x${"22".repeat(20)}`,
    registry: `0x${"33".repeat(20)}`,
  },
  battery: { chemistry: "lifepo4", cells: 4, capacityAh: 6 },
  panel: { watts: 30 },
  wifi: { country: "PT", ssid: 'cafe "sol"', password: "correct horse" },
  ssh: { authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB5kZ3Vz owner@laptop"] },
};

/** A fresh SD card: the boot partition and the root file system as two folders. */
function card(): { boot: string; root: string } {
  const dir = mkdtempSync(join(tmpdir(), "sunpool-card-"));
  return { boot: join(dir, "boot"), root: join(dir, "root") };
}

async function writeOwnerFile(boot: string, owner: unknown): Promise<void> {
  await mkdir(boot, { recursive: true });
  writeFileSync(join(boot, BOOT_FILES.owner), typeof owner === "string" ? owner : stringify(owner));
}

describe("worker device: sunpool.yaml and provisioning", function () {
  this.timeout(60_000);

  it("refuses the shipped example until every REPLACE value is filled in, naming each key", () => {
    const text = readFileSync(EXAMPLE, "utf8");
    let message = "";
    try {
      parseOwnerFile(text);
    } catch (error) {
      expect(error).to.be.instanceOf(SetupError);
      message = (error as Error).message;
    }
    for (const key of [
      "pool.scheduler",
      "pool.workerpool",
      "chain.rpc",
      "chain.chainId",
      "chain.hub",
      "wifi.country",
      "wifi.ssid",
    ])
      expect(message).to.include(`- ${key}:`);
    expect(message).to.include('See docs/worker-owner.md, "The config file"');
  });

  it("parses a filled-in file with the documented defaults", () => {
    const owner = parseOwnerFile(stringify({ ...OWNER, ssh: undefined }));
    expect(owner.monitor).to.deep.equal({ chip: "ina226", address: 0x40, shuntOhms: 0.01, maxAmps: 5 });
    expect(owner.hostname).to.equal("sunpool-worker");
    expect(owner.chain.deployedAtBlock).to.equal(0);
  });

  it("takes addresses and ids written without quotes as the text they are (YAML would read a number)", () => {
    const text = stringify(OWNER).replace(/'(0x[0-9a-fA-F]+)'|"(0x[0-9a-fA-F]+)"/g, "$1$2");
    expect(text).to.match(/^ {2}hub: 0x1111/m);
    const wifi = "wifi:\n  country: PT\n  ssid: 2024\n  password: 00123456\n";
    const owner = parseOwnerFile(`${text.replace(/^wifi:\n( {2}.*\n)+/m, "")}monitor:\n  chip: ina219\n  address: 0x41\n${wifi}`);
    expect(owner.wifi).to.deep.include({ ssid: "2024", password: "00123456" });
    expect(owner.chain.hub).to.equal(OWNER.chain.hub);
    expect(owner.pool.workerpool).to.equal(OWNER.pool.workerpool);
    expect(owner.monitor.address).to.equal(0x41);
  });

  it("refuses private keys, control characters and bad YAML with what to write instead", () => {
    const privateKey = { ...OWNER, ssh: { authorizedKeys: ["-----BEGIN OPENSSH PRIVATE KEY-----"] } };
    expect(() => parseOwnerFile(stringify(privateKey))).to.throw(
      /ssh\.authorizedKeys\.0: a public key line .*never the private key/,
    );
    const newline = { ...OWNER, wifi: { ...OWNER.wifi, ssid: "net\nnetwork={" } };
    expect(() => parseOwnerFile(stringify(newline))).to.throw(/wifi\.ssid: no line breaks or control characters/);
    expect(() => parseOwnerFile("pool: [unclosed")).to.throw(/not valid YAML/);
    const big = { ...OWNER, battery: { chemistry: "lifepo4", cells: 8, capacityAh: 6 } };
    expect(() => parseOwnerFile(stringify(big))).to.throw(
      /battery\.cells: 8 lifepo4 cells recover at 25\.6 V, above the Witty Pi's 25 V limit/,
    );
    expect(() => parseOwnerFile("")).to.throw(/is empty: copy sunpool.example.yaml/);
  });

  it("first boot: creates the wallet in an encrypted keystore and writes every file the worker needs", async () => {
    const { boot, root } = card();
    await writeOwnerFile(boot, OWNER);
    const result = await provision({ bootDir: boot, root });
    expect(result).to.include({ createdWallet: true, wifi: true, ssh: true, hostname: "sunpool-worker" });

    const password = readFileSync(join(root, IMAGE_PATHS.password), "utf8").trim();
    expect(password).to.have.length.greaterThan(40);
    expect(statSync(join(root, IMAGE_PATHS.password)).mode & 0o777).to.equal(0o600);
    expect(statSync(join(root, IMAGE_PATHS.keystore)).mode & 0o777).to.equal(0o600);
    const wallet = await readKeystore(join(root, IMAGE_PATHS.keystore), password);
    expect(wallet.address).to.equal(result.address);
    expect(readFileSync(join(root, IMAGE_PATHS.keystore), "utf8")).to.not.include(wallet.privateKey.slice(2));
    expect(readFileSync(join(boot, BOOT_FILES.address), "utf8")).to.equal(`${result.address}\n`);

    // The worker's own loader accepts the config (paths are the image's absolute ones).
    const config = await loadConfig(join(root, IMAGE_PATHS.config));
    expect(config.board).to.deep.include({ kind: "witty-pi-4", lowVoltageCutoff: 11.6, recoveryVoltage: 12.8, panelWatts: 30 });
    expect(config.keystore).to.equal(`/${IMAGE_PATHS.keystore}`);
    const deployment = parseDeployment(JSON.parse(readFileSync(join(root, IMAGE_PATHS.deployment), "utf8")));
    expect(deployment.chainId).to.equal(31337n);

    const wifi = readFileSync(join(root, IMAGE_PATHS.wifi), "utf8");
    expect(wifi).to.include("country=PT").and.include('ssid="cafe \\"sol\\""').and.include('psk="correct horse"');
    expect(statSync(join(root, IMAGE_PATHS.wifi)).mode & 0o777).to.equal(0o600);
    expect(readFileSync(join(root, IMAGE_PATHS.authorizedKeys), "utf8")).to.equal(`${OWNER.ssh.authorizedKeys[0]}\n`);
  });

  it("later boots keep the wallet and follow the edited file: Wi-Fi and SSH removed are switched off", async () => {
    const { boot, root } = card();
    await writeOwnerFile(boot, OWNER);
    const first = await provision({ bootDir: boot, root });
    await writeOwnerFile(boot, { ...OWNER, wifi: undefined, ssh: undefined, hostname: "roof-1" });
    const second = await provision({ bootDir: boot, root });
    expect(second).to.include({ address: first.address, createdWallet: false, wifi: false, ssh: false });
    expect(existsSync(join(root, IMAGE_PATHS.wifi))).to.equal(false);
    expect(existsSync(join(root, IMAGE_PATHS.authorizedKeys))).to.equal(false);
    expect(readFileSync(join(root, IMAGE_PATHS.hostname), "utf8")).to.equal("roof-1\n");
    expect(readFileSync(join(root, IMAGE_PATHS.hosts), "utf8")).to.include("127.0.1.1\troof-1\n");
  });

  it("a power cut between the password and the keystore: the next boot makes the wallet with the saved password", async () => {
    const { boot, root } = card();
    await writeOwnerFile(boot, OWNER);
    await provision({ bootDir: boot, root });
    const password = readFileSync(join(root, IMAGE_PATHS.password), "utf8").trim();
    await rm(join(root, IMAGE_PATHS.keystore));
    const again = await provision({ bootDir: boot, root });
    expect(again.createdWallet).to.equal(true);
    expect((await readKeystore(join(root, IMAGE_PATHS.keystore), password)).address).to.equal(again.address);
  });

  it("the CLI prints key=value lines for the boot script, and leaves any problem next to the owner's file", async () => {
    const { boot, root } = card();
    await writeOwnerFile(boot, OWNER);
    const cli = (args: string[]) =>
      spawnSync(process.execPath, [CLI, "provision", "--boot", boot, "--root", root, ...args], { encoding: "utf8" });
    const ok = cli(["--env"]);
    expect(ok.status, ok.stderr).to.equal(0);
    const fields: Record<string, string> = Object.fromEntries(
      ok.stdout
        .trim()
        .split("\n")
        .map((line): [string, string] => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
    expect(fields).to.deep.include({ createdWallet: "true", hostname: "sunpool-worker", wifi: "true", ssh: "true" });
    expect(fields.address).to.match(/^0x[0-9a-fA-F]{40}$/);

    await writeOwnerFile(boot, { ...OWNER, battery: { chemistry: "lead-acid", cells: 4, capacityAh: 6 } });
    const refused = cli(["--env"]);
    expect(refused.status).to.equal(3);
    expect(readFileSync(join(boot, BOOT_FILES.error), "utf8")).to.match(/battery\.chemistry: /);
    await writeOwnerFile(boot, OWNER);
    expect(cli([]).status).to.equal(0);
    expect(existsSync(join(boot, BOOT_FILES.error)), "the error file goes once the file is accepted").to.equal(false);
  });

  it("without sunpool.yaml it says what to do and writes nothing", async () => {
    const { boot, root } = card();
    await mkdir(boot, { recursive: true });
    const error = await provision({ bootDir: boot, root }).then(
      () => undefined,
      (caught: unknown) => caught as Error,
    );
    expect(error).to.be.instanceOf(ProvisionError);
    expect(error?.message).to.match(/Copy sunpool.example.yaml to sunpool.yaml/);
    expect(existsSync(join(root, IMAGE_PATHS.keystore))).to.equal(false);
  });
});

describe("worker device: the power-off hook's wake-up alarm", function () {
  this.timeout(60_000);

  it("with nothing learned, arms a wake-up in two hours, and the simulated Witty Pi powers the Pi on then", async () => {
    const sim = simulate();
    await boardOn(sim).start();
    const witty = new WittyPi4(sim.openBus(), { sleep: (ms) => sim.clock.sleep(ms) });
    const result = await armWakeAlarm({ witty, nowMs: sim.clock.now(), pvProfile: new Map() });
    expect(result.action).to.equal("set");
    const expected = Math.ceil((NIGHT + 4400 + 2 * 3_600_000) / 1000) * 1000;
    expect(Math.abs(result.wakeAt.getTime() - expected)).to.be.at.most(1000);
    // The Pi halts (whoever asked for it); the MCU cuts power, then the alarm brings it back.
    sim.halt();
    const on = await sim.waitForPowerOn(3 * 3_600_000);
    expect(on?.reason).to.equal(1);
    expect(on!.at).to.equal(Math.ceil(result.wakeAt.getTime() / 1000) * 1000);
    sim.close();
  });

  it("keeps the agent's own alarm, and replaces one that has passed (it would only match next month)", async () => {
    const sim = simulate();
    const witty = new WittyPi4(sim.openBus(), { sleep: (ms) => sim.clock.sleep(ms) });
    const now = sim.clock.now();
    await witty.setStartupAlarm(new Date(now + 5 * 3_600_000), new Date(now));
    const kept = await armWakeAlarm({ witty, nowMs: now, pvProfile: new Map() });
    expect(kept.action).to.equal("kept");
    expect(kept.wakeAt.getTime()).to.equal(now + 5 * 3_600_000);

    const later = now + 6 * 3_600_000;
    const replaced = await armWakeAlarm({ witty, nowMs: later, pvProfile: new Map() });
    expect(replaced.action).to.equal("set");
    expect(replaced.action === "set" && replaced.replaced).to.deep.equal(kept.alarm);
    expect(await witty.readStartupAlarm()).to.deep.equal(replaced.alarm);
    sim.close();
  });

  it("wakes when the learned panel profile says the sun carries the idle Pi again", () => {
    const nowMs = Date.UTC(2026, 5, 21, 3, 0, 0); // 21:00 the evening before, in Albuquerque
    // Learned: 12 W from 13:00 to 01:00 UTC (06:00-18:00 in Albuquerque), nothing otherwise.
    const sunny = new Map<number, number>();
    for (let minutes = 0; minutes < 24 * 60; minutes += 15) {
      const at = Date.UTC(2026, 5, 21, 0, minutes);
      const hour = new Date(at).getUTCHours();
      sunny.set(slotOf(at), hour >= 13 || hour < 1 ? 12 : 0);
    }
    const witty = {
      readStartupAlarm: () => Promise.resolve(undefined),
      setStartupAlarm: (at: Date) => Promise.resolve({ day: at.getUTCDate(), hour: at.getUTCHours(), minute: 0, second: 0 }),
    };
    return armWakeAlarm({ witty, nowMs, pvProfile: sunny }).then((result) => {
      expect(result.wakeAt.toISOString()).to.equal("2026-06-21T13:00:00.000Z");
    });
  });

  it("knows when a day/hour/minute/second alarm fires next, skipping months without that day", () => {
    const alarm = { day: 31, hour: 6, minute: 0, second: 0 };
    expect(new Date(nextOccurrence(alarm, Date.UTC(2027, 0, 31, 5))!).toISOString()).to.equal("2027-01-31T06:00:00.000Z");
    // Passed on 31 January: February has no 31st, March is more than 28 days away.
    expect(nextOccurrence(alarm, Date.UTC(2027, 0, 31, 7))).to.equal(undefined);
  });
});
