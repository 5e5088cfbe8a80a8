// A PV panel and its charge controller for the simulator (docs/hardware.md §3.2). Irradiance comes from an
// NREL TMY3 hourly file (the two sites in worker/data/solar) or from a clear-sky model anywhere:
// Haurwitz GHI split by Erbs into beam and diffuse, transposed onto the tilted panel with the
// isotropic sky model, PVWatts DC power with a temperature coefficient, the SAPM cell temperature
// and PVWatts' default 14 % system losses.
import { readFileSync } from "node:fs";

import { extraterrestrialIrradiance, sunPosition } from "./sun.js";

const RAD = Math.PI / 180;
const HOUR_MS = 3_600_000;

export interface Tmy3 {
  name: string;
  latitude: number;
  longitude: number;
  utcOffsetHours: number;
  /** 8760 hourly rows; row i covers the hour [i, i+1) of the year in local standard time. */
  ghi: Float64Array;
  dni: Float64Array;
  dhi: Float64Array;
  tempC: Float64Array;
  windMs: Float64Array;
}

/** Parse a TMY3 CSV as shipped in worker/data/solar (two '#' lines with the station header, then month,day,hour,…). */
export function parseTmy3(text: string, name = "tmy3"): Tmy3 {
  const header = /lat\s+(-?[\d.]+)\s+lon\s+(-?[\d.]+).*utc_offset_h\s+(-?[\d.]+)/.exec(text);
  if (header === null)
    throw new Error(`${name}: no "lat … lon … utc_offset_h …" station line; is this a worker/data/solar TMY3 file?`);
  const rows = text.split("\n").filter((l) => /^\d/.test(l));
  if (rows.length !== 8760) throw new Error(`${name}: expected 8760 hourly rows, found ${rows.length}`);
  const cols = Array.from({ length: 5 }, () => new Float64Array(8760));
  rows.forEach((row, i) => {
    const f = row.split(",").map(Number);
    for (let c = 0; c < 5; c++) cols[c]![i] = f[c + 3] ?? 0;
  });
  const [ghi, dni, dhi, tempC, windMs] = cols as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  return {
    name,
    latitude: Number(header[1]),
    longitude: Number(header[2]),
    utcOffsetHours: Number(header[3]),
    ghi,
    dni,
    dhi,
    tempC,
    windMs,
  };
}

export function loadTmy3(path: string): Tmy3 {
  return parseTmy3(readFileSync(path, "utf8"), path);
}

export type SolarSource =
  { kind: "tmy3"; data: Tmy3 } | { kind: "clear-sky"; latitude: number; longitude: number; cloudFactor?: number };

export interface PanelOptions {
  /** Nameplate DC power at 1000 W/m², 25 °C. */
  ratedWatts: number;
  /** Default: the site latitude (the classic fixed-tilt choice). */
  tiltDegrees?: number;
  /** Facing, from north clockwise. Default: the equator (180° north of it, 0° south of it). */
  azimuthDegrees?: number;
  /** Power temperature coefficient, 1/°C (PVWatts: typically −0.002 to −0.005). Default −0.004. */
  gamma?: number;
  /** Total system losses (PVWatts defaults ≈ 14.1 %). */
  losses?: number;
  albedo?: number;
}

export interface Irradiance {
  ghi: number;
  dni: number;
  dhi: number;
  poa: number;
  airC: number;
  windMs: number;
  cellC: number;
}

export class PvPanel {
  readonly source: SolarSource;
  readonly latitude: number;
  readonly longitude: number;
  private readonly rated: number;
  private readonly tilt: number;
  private readonly azimuth: number;
  private readonly gamma: number;
  private readonly derate: number;
  private readonly albedo: number;
  private cacheMinute = Number.NaN;
  private cacheA = 0;
  private cacheB = 0;

  constructor(source: SolarSource, options: PanelOptions) {
    this.source = source;
    this.latitude = source.kind === "tmy3" ? source.data.latitude : source.latitude;
    this.longitude = source.kind === "tmy3" ? source.data.longitude : source.longitude;
    this.rated = options.ratedWatts;
    this.tilt = RAD * (options.tiltDegrees ?? Math.abs(this.latitude));
    this.azimuth = RAD * (options.azimuthDegrees ?? (this.latitude >= 0 ? 180 : 0));
    this.gamma = options.gamma ?? -0.004;
    this.derate = 1 - (options.losses ?? 0.141);
    this.albedo = options.albedo ?? 0.2;
  }

  /**
   * DC power at the maximum power point, W. The physics loop asks every simulated second; the model is
   * evaluated once a minute and interpolated, which keeps a simulated week to a few ms of trigonometry.
   */
  powerAt(ms: number): number {
    const minute = Math.floor(ms / 60_000);
    if (minute !== this.cacheMinute) {
      this.cacheMinute = minute;
      this.cacheA = this.exactPowerAt(minute * 60_000);
      this.cacheB = this.exactPowerAt((minute + 1) * 60_000);
    }
    const f = (ms - minute * 60_000) / 60_000;
    return this.cacheA + (this.cacheB - this.cacheA) * f;
  }

  exactPowerAt(ms: number): number {
    const irr = this.irradianceAt(ms);
    if (irr.poa <= 0) return 0;
    return Math.max(0, (irr.poa / 1000) * this.rated * (1 + this.gamma * (irr.cellC - 25)) * this.derate);
  }

  irradianceAt(ms: number): Irradiance {
    const sun = sunPosition(ms, this.latitude, this.longitude);
    const cosZ = Math.sin(sun.altitude);
    let ghi = 0;
    let dni = 0;
    let dhi = 0;
    let airC = 20;
    let windMs = 1;
    if (this.source.kind === "tmy3") {
      const w = tmyAt(this.source.data, ms);
      ({ ghi, dni, dhi, airC, windMs } = w);
    } else if (cosZ > 0) {
      // Haurwitz clear-sky GHI, then Erbs' diffuse fraction (§3.2).
      ghi = 1098 * cosZ * Math.exp(-0.059 / cosZ) * (this.source.cloudFactor ?? 1);
      const kt = Math.min(1, ghi / (extraterrestrialIrradiance(ms) * cosZ));
      const kd =
        kt <= 0.22
          ? 1 - 0.09 * kt
          : kt <= 0.8
            ? 0.9511 - 0.1604 * kt + 4.388 * kt ** 2 - 16.638 * kt ** 3 + 12.336 * kt ** 4
            : 0.165;
      dhi = kd * ghi;
      dni = (ghi - dhi) / cosZ;
    }
    if (cosZ <= 0) return { ghi: 0, dni: 0, dhi: 0, poa: 0, airC, windMs, cellC: airC };
    // Isotropic sky transposition: beam on the tilted plane + sky diffuse + ground reflection.
    const zenith = Math.PI / 2 - sun.altitude;
    const cosAoi =
      Math.cos(zenith) * Math.cos(this.tilt) + Math.sin(zenith) * Math.sin(this.tilt) * Math.cos(sun.azimuth - this.azimuth);
    const poa = Math.max(
      0,
      dni * Math.max(0, cosAoi) + (dhi * (1 + Math.cos(this.tilt))) / 2 + (ghi * this.albedo * (1 - Math.cos(this.tilt))) / 2,
    );
    // SAPM cell temperature, open rack glass/polymer: a −3.56, b −0.075, ΔT 3 °C (§3.2).
    const module = poa * Math.exp(-3.56 - 0.075 * windMs) + airC;
    return { ghi, dni, dhi, poa, airC, windMs, cellC: module + (poa / 1000) * 3 };
  }
}

/**
 * Weather at an instant from TMY3 hourly rows: each row is the mean of the hour ending at its time
 * (local standard time), so it is placed at the half hour and interpolated linearly between rows. The
 * year is ignored (TMY is a typical year); 29 February reuses the 28th.
 */
function tmyAt(data: Tmy3, ms: number): { ghi: number; dni: number; dhi: number; airC: number; windMs: number } {
  const local = new Date(ms + data.utcOffsetHours * HOUR_MS);
  const y = local.getUTCFullYear();
  let dayOfYear = Math.floor((Date.UTC(y, local.getUTCMonth(), local.getUTCDate()) - Date.UTC(y, 0, 1)) / 86_400_000);
  const leap = new Date(Date.UTC(y, 1, 29)).getUTCMonth() === 1;
  if (leap && dayOfYear >= 59) dayOfYear -= 1;
  const hour = dayOfYear * 24 + local.getUTCHours() + local.getUTCMinutes() / 60 + local.getUTCSeconds() / 3600;
  const x = hour - 0.5;
  const i0 = ((Math.floor(x) % 8760) + 8760) % 8760;
  const i1 = (i0 + 1) % 8760;
  const f = x - Math.floor(x);
  const lerp = (a: Float64Array): number => a[i0]! + (a[i1]! - a[i0]!) * f;
  return { ghi: lerp(data.ghi), dni: lerp(data.dni), dhi: lerp(data.dhi), airC: lerp(data.tempC), windMs: lerp(data.windMs) };
}

export interface ChargeControllerOptions {
  kind: "mppt" | "pwm";
  /** MPPT conversion efficiency. Default 0.95. */
  efficiency?: number;
  /** PWM: the panel's maximum-power voltage; a PWM controller clamps the panel to the battery voltage. Default 18 V. */
  panelMppVolts?: number;
}

/** Power delivered to the battery side from the panel's MPP power. */
export function chargeControllerOutput(controller: ChargeControllerOptions, pvWatts: number, batteryVolts: number): number {
  if (pvWatts <= 0) return 0;
  if (controller.kind === "mppt") return pvWatts * (controller.efficiency ?? 0.95);
  // PWM: the panel current (≈ Imp) flows at the battery's voltage, not at Vmp.
  const vmp = controller.panelMppVolts ?? 18;
  return pvWatts * Math.min(1, batteryVolts / vmp) * (controller.efficiency ?? 0.98);
}
