// The devnet's simulated solar workers: different sites, panels and batteries, so that dispatch
// sees a mixed fleet. Their simulated clocks start on a June day around local noon (whatever the
// real time is) so that a fresh devnet has sun; they then run in real time, and a devnet left
// running into the simulated evening sees its workers sleep, as real ones would.
interface SimulatedBoard {
  kind: "simulated";
  site?: "albuquerque" | "greensboro";
  latitude?: number;
  longitude?: number;
  panelWatts: number;
  battery: { chemistry: "lifepo4" | "li-ion"; cells: number; capacityAh: number };
  initialStateOfCharge: number;
  startTime: string;
}

export interface DevnetWorkerBoard {
  label: string;
  board: SimulatedBoard;
}

function board(
  label: string,
  site: Pick<SimulatedBoard, "site" | "latitude" | "longitude">,
  utcNoon: number,
  rest: Omit<SimulatedBoard, "kind" | "startTime" | "site" | "latitude" | "longitude">,
): DevnetWorkerBoard {
  const startTime = new Date(Date.UTC(2026, 5, 21, utcNoon)).toISOString();
  return { label, board: { kind: "simulated", ...site, ...rest, startTime } };
}

const LIFEPO4_6AH = { chemistry: "lifepo4", cells: 4, capacityAh: 6 } as const;
const LIFEPO4_20AH = { chemistry: "lifepo4", cells: 4, capacityAh: 20 } as const;
const LIION_10AH = { chemistry: "li-ion", cells: 3, capacityAh: 10 } as const;

/** Worker i of the devnet gets board i (up to ten workers). */
export const WORKER_BOARDS: DevnetWorkerBoard[] = [
  board("Albuquerque 20 W 6 Ah LiFePO4", { site: "albuquerque" }, 18, {
    panelWatts: 20,
    battery: LIFEPO4_6AH,
    initialStateOfCharge: 0.8,
  }),
  board("Greensboro 30 W 10 Ah Li-ion", { site: "greensboro" }, 17, {
    panelWatts: 30,
    battery: LIION_10AH,
    initialStateOfCharge: 0.7,
  }),
  board("Lisbon (clear sky) 50 W 20 Ah LiFePO4", { latitude: 38.7, longitude: -9.1 }, 12, {
    panelWatts: 50,
    battery: LIFEPO4_20AH,
    initialStateOfCharge: 0.9,
  }),
  board("Albuquerque 50 W 20 Ah LiFePO4", { site: "albuquerque" }, 18, {
    panelWatts: 50,
    battery: LIFEPO4_20AH,
    initialStateOfCharge: 0.6,
  }),
  board("Greensboro 20 W 6 Ah LiFePO4", { site: "greensboro" }, 17, {
    panelWatts: 20,
    battery: LIFEPO4_6AH,
    initialStateOfCharge: 0.9,
  }),
  board("Nairobi (clear sky) 20 W 10 Ah Li-ion", { latitude: -1.3, longitude: 36.8 }, 9, {
    panelWatts: 20,
    battery: LIION_10AH,
    initialStateOfCharge: 0.8,
  }),
  board("Berlin (clear sky) 50 W 20 Ah LiFePO4", { latitude: 52.5, longitude: 13.4 }, 11, {
    panelWatts: 50,
    battery: LIFEPO4_20AH,
    initialStateOfCharge: 0.8,
  }),
  board("Albuquerque 30 W 10 Ah Li-ion", { site: "albuquerque" }, 18, {
    panelWatts: 30,
    battery: LIION_10AH,
    initialStateOfCharge: 0.9,
  }),
  board("Greensboro 50 W 20 Ah LiFePO4", { site: "greensboro" }, 17, {
    panelWatts: 50,
    battery: LIFEPO4_20AH,
    initialStateOfCharge: 0.8,
  }),
  board("Sydney (clear sky, winter) 50 W 20 Ah LiFePO4", { latitude: -33.9, longitude: 151.2 }, 2, {
    panelWatts: 50,
    battery: LIFEPO4_20AH,
    initialStateOfCharge: 0.9,
  }),
];
