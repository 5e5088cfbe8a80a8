// The one file a worker owner writes: `sunpool.yaml` on the SD card's boot partition (FAT, so it
// can be edited from any laptop). Validated with zod so that every mistake names its line's key and
// what to write instead; the Pi shows the message on its console and leaves it next to the file.
import { isPair, isScalar, parseDocument, visit } from "yaml";
import * as z from "zod/mini";

import { cellVolts } from "../boardFactory.js";
import { SetupError } from "../config.js";
import { THRESHOLD_RANGE } from "../hardware/wittyPi4.js";

/** Keys whose values are text even when YAML would read a number. */
const TEXT_FIELDS = new Set(["ssid", "password"]);

// zod's "mini" build, as in ../config.ts (which sets its English messages): the agent's bundle
// then carries one zod, not two.
const hexAddress = z.string().check(z.regex(/^0x[0-9a-fA-F]{40}$/, "an address: 0x + 40 hex digits (ask your pool operator)"));

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const printable = /^[^\x00-\x1f\x7f]*$/;

const wifiSchema = z.strictObject({
  country: z
    .string()
    .check(z.regex(/^[A-Z]{2}$/, "a two-letter country code in capitals (e.g. PT, US, KE): it sets the legal radio channels")),
  ssid: z
    .string()
    .check(
      z.minLength(1),
      z.maxLength(32, "Wi-Fi network names are at most 32 bytes"),
      z.regex(printable, "no line breaks or control characters"),
    ),
  /** Omit for an open network. */
  password: z.optional(
    z
      .string()
      .check(
        z.minLength(8, "WPA passwords have 8 to 63 characters"),
        z.maxLength(63, "WPA passwords have 8 to 63 characters"),
        z.regex(printable, "no line breaks or control characters"),
      ),
  ),
});

const monitorSchema = z.strictObject({
  chip: z.enum(["ina219", "ina226"]),
  address: z._default(z.int().check(z.gte(0x40), z.lte(0x4f)), 0x40),
  shuntOhms: z._default(z.number().check(z.positive(), z.lte(10)), 0.01),
  maxAmps: z._default(z.number().check(z.positive(), z.lte(50)), 5),
});

// An OpenSSH public key line; private keys (and anything multi-line) are refused outright.
const sshKey = z
  .string()
  .check(
    z.regex(
      /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/=]+( [^\r\n]*)?$/,
      "a public key line as in ~/.ssh/id_ed25519.pub (never the private key)",
    ),
  );

export const ownerFileSchema = z
  .strictObject({
    pool: z.strictObject({
      scheduler: z.url({ error: "the pool's scheduler URL, e.g. https://pool.example.org" }),
      workerpool: z
        .string()
        .check(z.regex(/^0x[0-9a-fA-F]{64}$/, "the workerpool id: 0x + 64 hex digits (ask your pool operator)")),
    }),
    chain: z.strictObject({
      rpc: z.url({ error: "an http(s) URL of the chain's JSON-RPC endpoint" }),
      chainId: z.int().check(z.positive()),
      hub: hexAddress,
      token: hexAddress,
      registry: hexAddress,
      deployedAtBlock: z._default(z.int().check(z.gte(0)), 0),
    }),
    battery: z.strictObject({
      chemistry: z.enum(["lifepo4", "li-ion"]),
      cells: z.int().check(z.gte(1), z.lte(8)),
      capacityAh: z.number().check(z.positive(), z.lte(1000)),
    }),
    panel: z.strictObject({ watts: z.number().check(z.positive(), z.lte(1000)) }),
    monitor: z.prefault(monitorSchema, { chip: "ina226" }),
    panelMonitor: z.optional(monitorSchema),
    wifi: z.optional(wifiSchema),
    hostname: z._default(
      z
        .string()
        .check(z.regex(/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "lower-case letters, digits and dashes, at most 63 characters")),
      "sunpool-worker",
    ),
    ssh: z.optional(
      z.strictObject({
        authorizedKeys: z.array(sshKey).check(z.minLength(1, "give at least one public key, or remove the ssh section")),
      }),
    ),
    energy: z.optional(
      z.strictObject({
        floor: z.optional(z.number().check(z.gte(0), z.lte(0.9))),
        nightReserve: z.optional(z.number().check(z.gte(0), z.lte(0.95))),
        sleep: z.optional(z.boolean()),
      }),
    ),
  })
  .check(
    z.superRefine((owner, context) => {
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
    }),
  );

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
