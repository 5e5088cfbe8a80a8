// GPIO lines through sysfs (onoff, docs/hardware.md §5.2). The Witty Pi needs two: HALT on BCM 4 (the MCU
// pulls it low to ask for a shutdown; the Pi pulls it low to ask the MCU for one) and SYS_UP on BCM 17.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";

import { HardwareError } from "./errors.js";

export type GpioValue = 0 | 1;
export type GpioDirection = "in" | "out" | "high" | "low";
export type GpioEdge = "none" | "rising" | "falling" | "both";
export type GpioWatcher = (err: Error | null | undefined, value: GpioValue) => void;

/** The subset of onoff's `Gpio` the hardware layer uses; the board simulator implements it too. */
export interface GpioLine {
  read(): Promise<GpioValue>;
  write(value: GpioValue): Promise<void>;
  setDirection(direction: GpioDirection): void;
  watch(callback: GpioWatcher): void;
  unwatch(callback?: GpioWatcher): void;
  unexport(): void;
}

export interface GpioChip {
  name: string;
  label: string;
  base: number;
  ngpio: number;
}

/**
 * Labels of the controller that drives the 40-pin header, most specific first: the RP1 on a Pi 5,
 * the SoC's own controller on a Pi 4 / earlier. Other chips (the firmware's GPIO expander,
 * `raspberrypi-exp-gpio`; the BCM2712's own `pinctrl-bcm2712` banks on a Pi 5) must not be picked.
 */
export const HEADER_GPIO_LABELS = ["pinctrl-rp1", "pinctrl-bcm2711", "pinctrl-bcm2835"] as const;

/** Every gpiochip under a sysfs GPIO directory (normally /sys/class/gpio). */
export async function listGpioChips(sysfsGpio = "/sys/class/gpio"): Promise<GpioChip[]> {
  const names = (await readdir(sysfsGpio)).filter((n) => /^gpiochip\d+$/.test(n));
  const chips = await Promise.all(
    names.map(async (name): Promise<GpioChip> => {
      const read = (file: string): Promise<string> => readFile(join(sysfsGpio, name, file), "utf8").then((s) => s.trim());
      const [label, base, ngpio] = await Promise.all([read("label"), read("base"), read("ngpio").catch(() => "0")]);
      return { name, label, base: Number(base), ngpio: Number(ngpio) };
    }),
  );
  return chips.sort((a, b) => a.base - b.base);
}

/**
 * The sysfs number of header pin BCM `bcm`. Since kernel 6.6 the numbers are no longer the BCM numbers:
 * the header controller's `base` (512 on a Pi 4, 571 on a Pi 5 Bookworm…) must be added (§5.2), and
 * exporting plain "4" gives EINVAL. Older kernels report base 0, so the same sum works there too.
 */
export async function sysfsGpioNumber(bcm: number, sysfsGpio = "/sys/class/gpio"): Promise<number> {
  const chips = await listGpioChips(sysfsGpio).catch((cause: unknown) => {
    throw new HardwareError("HW_GPIO_UNAVAILABLE", `cannot list GPIO chips in ${sysfsGpio}`, {
      hint: "This host has no sysfs GPIO; run on a Raspberry Pi, or use the board simulator",
      cause,
    });
  });
  for (const label of HEADER_GPIO_LABELS) {
    const chip = chips.find((c) => c.label === label);
    if (chip !== undefined) {
      if (chip.ngpio > 0 && bcm >= chip.ngpio) {
        throw new HardwareError("HW_INVALID_ARGUMENT", `BCM ${bcm} is beyond ${chip.label}'s ${chip.ngpio} lines`);
      }
      return chip.base + bcm;
    }
  }
  throw new HardwareError(
    "HW_GPIO_UNAVAILABLE",
    `no Raspberry Pi header GPIO controller in ${sysfsGpio} (found: ${chips.map((c) => `${c.name}=${c.label}`).join(", ") || "none"})`,
    { hint: `Expected a gpiochip labelled ${HEADER_GPIO_LABELS.join(" or ")}; check \`cat /sys/kernel/debug/gpio\`` },
  );
}

export interface OpenGpioOptions {
  debounceTimeout?: number;
  activeLow?: boolean;
  /** Where sysfs GPIO lives (tests point it at a fake tree). */
  sysfsGpio?: string;
}

/** Export BCM line `bcm` through onoff, loaded lazily so hosts without the epoll addon still run. */
export async function openGpioLine(
  bcm: number,
  direction: GpioDirection,
  edge: GpioEdge = "none",
  options: OpenGpioOptions = {},
): Promise<GpioLine> {
  const { Gpio } = await import("onoff");
  if (!Gpio.accessible) {
    throw new HardwareError("HW_GPIO_UNAVAILABLE", "sysfs GPIO is not accessible (/sys/class/gpio/export)", {
      hint: "Run on a Raspberry Pi as a member of the gpio group, or use the board simulator",
    });
  }
  const number = await sysfsGpioNumber(bcm, options.sysfsGpio);
  const line: GpioLine = new Gpio(number, direction, edge, {
    ...(options.debounceTimeout === undefined ? {} : { debounceTimeout: options.debounceTimeout }),
    ...(options.activeLow === undefined ? {} : { activeLow: options.activeLow }),
  });
  return line;
}
