// Header GPIO numbering over a fake sysfs tree: kernels >= 6.6 number lines from the controller's
// base (512 on a Pi 4), older ones from 0 (docs/hardware.md §5.2).
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { listGpioChips, sysfsGpioNumber } from "../../../worker/src/hardware/gpio.js";
import { rejection } from "../simulator/fixtures.js";

function fakeSysfs(chips: { base: number; label: string; ngpio: number }[]): string {
  const dir = mkdtempSync(join(tmpdir(), "sysfs-gpio-"));
  writeFileSync(join(dir, "export"), "");
  for (const chip of chips) {
    const d = join(dir, `gpiochip${chip.base}`);
    mkdirSync(d);
    writeFileSync(join(d, "base"), `${chip.base}\n`);
    writeFileSync(join(d, "label"), `${chip.label}\n`);
    writeFileSync(join(d, "ngpio"), `${chip.ngpio}\n`);
  }
  return dir;
}

describe("sysfs GPIO numbering", () => {
  const dirs: string[] = [];
  const tree = (chips: { base: number; label: string; ngpio: number }[]): string => {
    const d = fakeSysfs(chips);
    dirs.push(d);
    return d;
  };
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("adds base 512 on a Pi 4 with kernel >= 6.6, ignoring the firmware expander", async () => {
    const d = tree([
      { base: 512, label: "pinctrl-bcm2711", ngpio: 58 },
      { base: 570, label: "raspberrypi-exp-gpio", ngpio: 8 },
    ]);
    expect(await sysfsGpioNumber(4, d)).to.equal(516);
    expect(await sysfsGpioNumber(17, d)).to.equal(529);
    expect((await listGpioChips(d)).map((c) => c.label)).to.deep.equal(["pinctrl-bcm2711", "raspberrypi-exp-gpio"]);
  });

  it("uses the plain BCM number on an older kernel (base 0)", async () => {
    const d = tree([
      { base: 0, label: "pinctrl-bcm2835", ngpio: 54 },
      { base: 504, label: "raspberrypi-exp-gpio", ngpio: 8 },
    ]);
    expect(await sysfsGpioNumber(4, d)).to.equal(4);
  });

  it("picks the RP1 on a Pi 5, not the BCM2712's own banks", async () => {
    const d = tree([
      { base: 512, label: "pinctrl-bcm2712", ngpio: 32 },
      { base: 571, label: "pinctrl-rp1", ngpio: 54 },
    ]);
    expect(await sysfsGpioNumber(17, d)).to.equal(588);
  });

  it("says which chips it found when none is a header controller", async () => {
    const d = tree([{ base: 600, label: "gpio-mockup", ngpio: 8 }]);
    const err = await rejection(sysfsGpioNumber(4, d));
    expect(err.code).to.equal("HW_GPIO_UNAVAILABLE");
    expect(err.message).to.contain("found: gpiochip600=gpio-mockup");
  });

  it("explains a host without sysfs GPIO", async () => {
    const err = await rejection(sysfsGpioNumber(4, join(tmpdir(), "no-such-sysfs-gpio")));
    expect(err.message).to.contain("This host has no sysfs GPIO");
  });
});
