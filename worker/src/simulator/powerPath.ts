// The board's power path at one instant: panel → charge controller → battery, and the battery →
// Witty Pi converter → Pi load. Pure: given the panel's power, the load and the pack, what flows
// where and what voltage the Witty Pi sees. The board recomputes it whenever an input changes.
import type { Battery } from "./battery.js";
import { chargeControllerOutput, type ChargeControllerOptions } from "./pvPanel.js";

/** The board's electrical state, recomputed whenever an input changes. */
export interface ElectricalState {
  batteryAmps: number;
  batteryVolts: number;
  piWatts: number;
  pvAvailable: number;
  pvWatts: number;
  /** The Witty Pi's input voltage (0 when nothing holds it up). */
  vin: number;
}

export interface PowerPathInputs {
  /** What the panel could give now (its maximum power point), W. */
  pvAvailable: number;
  /** What the Pi draws at the converter's output, W. */
  piWatts: number;
  batteryConnected: boolean;
  controller: ChargeControllerOptions;
  /** The Witty Pi converter's efficiency (0..1) and its own standby draw, W. */
  converterEfficiency: number;
  standbyWatts: number;
}

export function electricalState(battery: Battery, inputs: PowerPathInputs): ElectricalState {
  const { pvAvailable, piWatts } = inputs;
  if (!inputs.batteryConnected) return { batteryAmps: 0, batteryVolts: 0, piWatts, pvAvailable, pvWatts: 0, vin: 0 };
  const loadIn = piWatts / inputs.converterEfficiency + inputs.standbyWatts;
  const charge = chargeControllerOutput(inputs.controller, pvAvailable, battery.openCircuitVolts());
  const amps = battery.currentForPower(charge - loadIn);
  const volts = battery.terminalVolts(amps);
  // With the pack empty (BMS open) and the sun short, nothing holds the input up.
  const collapsed = battery.empty && amps === 0 && charge < loadIn;
  // The controller backs off to what the battery accepts plus what the load takes.
  const used = Math.min(charge, Math.max(0, amps * volts + loadIn));
  const pvWatts = charge > 0 ? (pvAvailable * used) / charge : 0;
  return { batteryAmps: amps, batteryVolts: collapsed ? 0 : volts, piWatts, pvAvailable, pvWatts, vin: collapsed ? 0 : volts };
}
