// Sun position from suncalc's formulas (docs/hardware.md §3.3; Astronomy Answers' low-precision series),
// accurate to a fraction of a degree — plenty for PV power. Angles in radians; azimuth from north,
// clockwise (suncalc v2's convention).
const RAD = Math.PI / 180;
const DAY_MS = 86_400_000;
const J1970 = 2440588;
const J2000 = 2451545;
const OBLIQUITY = RAD * 23.4397;

export interface SunPosition {
  /** Above the horizon, radians (no refraction correction). */
  altitude: number;
  /** From north, clockwise, radians. */
  azimuth: number;
}

export function sunPosition(ms: number, latitude: number, longitude: number): SunPosition {
  const d = ms / DAY_MS - 0.5 + J1970 - J2000;
  const m = RAD * (357.5291 + 0.98560028 * d);
  const l = m + RAD * (1.9148 * Math.sin(m) + 0.02 * Math.sin(2 * m) + 0.0003 * Math.sin(3 * m)) + RAD * 102.9372 + Math.PI;
  const dec = Math.asin(Math.sin(OBLIQUITY) * Math.sin(l));
  const ra = Math.atan2(Math.sin(l) * Math.cos(OBLIQUITY), Math.cos(l));
  const h = RAD * (280.16 + 360.9856235 * d) + RAD * longitude - ra;
  const phi = RAD * latitude;
  const altitude = Math.asin(Math.sin(phi) * Math.sin(dec) + Math.cos(phi) * Math.cos(dec) * Math.cos(h));
  const azimuthFromSouth = Math.atan2(Math.sin(h), Math.cos(h) * Math.sin(phi) - Math.tan(dec) * Math.cos(phi));
  return { altitude, azimuth: azimuthFromSouth + Math.PI };
}

/** Extraterrestrial irradiance on a plane normal to the sun, W/m² (1367 W/m² ± 3.3 % over the year). */
export function extraterrestrialIrradiance(ms: number): number {
  const dayOfYear = Math.floor((ms - Date.UTC(new Date(ms).getUTCFullYear(), 0, 1)) / DAY_MS) + 1;
  return 1367 * (1 + 0.033 * Math.cos((2 * Math.PI * dayOfYear) / 365));
}
