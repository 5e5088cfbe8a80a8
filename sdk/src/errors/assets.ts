import { SunpoolError } from "./base.js";

export type AssetKindName = "app" | "dataset" | "workerpool";

/** No asset of this kind has this id on this chain. */
export class AssetNotFoundError extends SunpoolError {
  override name = "AssetNotFoundError";
  constructor(
    readonly kind: AssetKindName,
    readonly id: string,
  ) {
    super("ASSET_NOT_FOUND", `No ${kind} ${id} is registered on this chain.`, {
      hints: [
        `Check the id (sunpool ${kind === "workerpool" ? "order list --kind workerpool" : `${kind} list`}) and that you use the right chain and hub.`,
      ],
    });
  }
}

/** The owner already registered an asset of this kind with this name (ids are owner + name). */
export class AssetExistsError extends SunpoolError {
  override name = "AssetExistsError";
  constructor(
    readonly kind: AssetKindName,
    readonly id: string,
    readonly assetName: string,
  ) {
    super("ASSET_EXISTS", `You already registered a ${kind} named "${assetName}" (id ${id}).`, {
      hints: [`Use that id, or pick another name (a new image version can be a new name such as "${assetName}-v2").`],
    });
  }
}

/**
 * A request asks for replication (trust >= 2) of an app its owner registered as non-deterministic:
 * replicas of such an app cannot agree, so the hub refuses the deal (`MatchAppNotDeterministic`).
 */
export class AppNotDeterministicError extends SunpoolError {
  override name = "AppNotDeterministicError";
  constructor(
    readonly appId: string,
    readonly trust: bigint,
  ) {
    super(
      "APP_NOT_DETERMINISTIC",
      `App ${appId} is registered as non-deterministic, so it cannot run with trust ${trust}: replication needs workers whose results agree byte for byte.`,
      {
        hints: [
          "Run it with trust 1 (sunpool run --trust 1): one worker, no replication.",
          "If its output is in fact deterministic (no timestamps, random numbers or unordered output), its owner can register it again as deterministic (without --non-deterministic).",
        ],
        docsPath: "docs/sdk.md#apps-and-trust",
      },
    );
  }
}
