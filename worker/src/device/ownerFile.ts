// The one file a worker owner writes: `sunpool.yaml` on the SD card's boot partition (FAT, so it
// can be edited from any laptop). Validated with zod so that every mistake names its line's key and
// what to write instead; the Pi shows the message on its console and leaves it next to the file.
import { isPair, isScalar, parseDocument, visit } from "yaml";
import { z } from "zod";

import { cellVolts } from "../boardFactory.js";
import { SetupError } from "../config.js";
import { THRESHOLD_RANGE } from "../hardware/wittyPi4.js";

/** Keys whose values are text even when YAML would read a number. */
const TEXT_FIELDS = new Set(["ssid", "password"]);

const hexAddress = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "an address: 0x + 40 hex digits (ask your pool operator)");

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const printable = /^[^\x00-\x1f\x7f]*$/;

const wifiSchema = z
  .object({
    country: z
      .string()
      .regex(/^[A-Z]{2}$/, "a two-letter country code in capitals (e.g. PT, US, KE): it sets the legal radio channels"),
    ssid: z
      .string()
      .min(1)
      .max(32, "Wi-Fi network names are at most 32 bytes")
      .regex(printable, "no line breaks or control characters"),
    password: z
      .string()
      .min(8, "WPA passwords have 8 to 63 characters")
      .max(63, "WPA passwords have 8 to 63 characters")
      .regex(printable, "no line breaks or control characters")
      .optional()
      .describe("omit for an open network"),
  })
  .strict();

const monitorSchema = z
  .object({
    chip: z.enum(["ina219", "ina226"]),
    address: z.number().int().min(0x40).max(0x4f).default(0x40),
    shuntOhms: z.number().positive().max(10).default(0.01),
    maxAmps: z.number().positive().max(50).default(5),
  })
  .strict();

// An OpenSSH public key line; private keys (and anything multi-line) are refused outright.
const sshKey = z
  .string()
  .regex(
    /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/=]+( [^\r\n]*)?$/,
    "a public key line as in ~/.ssh/id_ed25519.pub (never the private key)",
  );

export const ownerFileSchema = z
  .object({
    pool: z
      .object({
        scheduler: z.url({ message: "the pool's scheduler URL, e.g. https://pool.example.org" }),
        workerpool: z.string().regex(/^0x[0-9a-fA-F]{64}$/, "the workerpool id: 0x + 64 hex digits (ask your pool operator)"),
      })
      .strict(),
    chain: z
      .object({
        rpc: z.url({ message: "an http(s) URL of the chain's JSON-RPC endpoint" }),
        chainId: z.number().int().positive(),
        hub: hexAddress,
        token: hexAddress,
        registry: hexAddress,
        deployedAtBlock: z.number().int().min(0).default(0),
      })
      .strict(),
    battery: z
      .object({
        chemistry: z.enum(["lifepo4", "li-ion"]),
        cells: z.number().int().min(1).max(8),
        capacityAh: z.number().positive().max(1000),
      })
      .strict(),
    panel: z.object({ watts: z.number().positive().max(1000) }).strict(),
    monitor: monitorSchema.prefault({ chip: "ina226" }),
    panelMonitor: monitorSchema.optional(),
    wifi: wifiSchema.optional(),
    hostname: z
      .string()
      .regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "lower-case letters, digits and dashes, at most 63 characters")
      .default("sunpool-worker"),
    ssh: z
      .object({ authorizedKeys: z.array(sshKey).min(1, "give at least one public key, or remove the ssh section") })
      .strict()
      .optional(),
    energy: z
      .object({
        floor: z.number().min(0).max(0.9).optional(),
        nightReserve: z.number().min(0).max(0.95).optional(),
        sleep: z.boolean().optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((owner, context) => {
    // The Witty Pi's thresholds stop at 25 V (§1.2 regs 19/22): a pack whose recovery voltage is
    // above that cannot be protected.
    const recovery = cellVolts(owner.battery.chemistry).recovery * owner.battery.cells;
    if (recovery > THRESHOLD_RANGE.max) {
      context.addIssue({
        code: "custom",
        path: ["battery", "cells"],
        message: `${owner.battery.cells.toString()} ${owner.battery.chemistry} cells recover at ${recovery.toFixed(1)} V, above the Witty Pi's ${THRESHOLD_RANGE.max.toString()} V limit: use a smaller pack (a 4-cell LiFePO4 is the usual 12 V battery)`,
      });
    }
    const { floor, nightReserve } = owner.energy ?? {};
    if (floor !== undefined && nightReserve !== undefined && nightReserve < floor) {
      context.addIssue({ code: "custom", path: ["energy", "nightReserve"], message: "must be at least energy.floor" });
    }
  });

export type OwnerFile = z.infer<typeof ownerFileSchema>;

/** Parses the owner's YAML; every problem is listed with its key and what to write. */
export function parseOwnerFile(text: string, source = "sunpool.yaml"): OwnerFile {
  let document: unknown;
  try {
    const parsed = parseDocument(text, { uniqueKeys: true });
    if (parsed.errors.length > 0) throw parsed.errors[0]!;
    // YAML reads an unquoted 0x… as a number: an address or id (too long for a safe integer) keeps
    // the text the owner wrote, so `hub: 0x5FbD…` works quoted or not; short ones (0x40) stay
    // numbers. A Wi-Fi name or password made of digits is text too (12345678, 0042).
    visit(parsed, {
      Scalar(key, node, path) {
        if (!isScalar(node) || typeof node.source !== "string") return;
        const pair = path.at(-1);
        const field = key === "value" && isPair(pair) && isScalar(pair.key) ? String(pair.key.value) : undefined;
        if (/^0x[0-9a-fA-F]{14,}$/.test(node.source) || (field !== undefined && TEXT_FIELDS.has(field))) node.value = node.source;
      },
    });
    document = parsed.toJS({ maxAliasCount: 0 });
  } catch (error) {
    throw new SetupError(`${source} is not valid YAML: ${(error as Error).message}`);
  }
  if (document === null || document === undefined) {
    throw new SetupError(`${source} is empty: copy sunpool.example.yaml to sunpool.yaml and fill it in.`);
  }
  const parsed = ownerFileSchema.safeParse(document);
  const placeholders = placeholderPaths(document).map((path) => `  - ${path}: still the example's REPLACE text: fill it in`);
  if (!parsed.success || placeholders.length > 0) {
    const reported = new Set(placeholders.map((line) => line.split(":")[0]));
    const problems = [
      ...placeholders,
      ...(parsed.error?.issues ?? [])
        .map((issue) => `  - ${issue.path.join(".") || "(top level)"}: ${issue.message}`)
        .filter((line) => !reported.has(line.split(":")[0])),
    ];
    throw new SetupError(
      `${source} has ${problems.length === 1 ? "a problem" : `${problems.length.toString()} problems`}:\n${problems.join("\n")}\nSee docs/worker-owner.md, "The config file"; sunpool.example.yaml on the same partition shows every key.`,
    );
  }
  return parsed.data;
}

/** Keys whose value is still one of sunpool.example.yaml's "REPLACE ..." placeholders. */
function placeholderPaths(value: unknown, path: string[] = []): string[] {
  if (typeof value === "string") return /^REPLACE\b/.test(value) ? [path.join(".")] : [];
  if (typeof value !== "object" || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => placeholderPaths(child, [...path, key]));
}
