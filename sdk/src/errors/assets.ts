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
