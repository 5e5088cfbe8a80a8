import { readFileSync } from "node:fs";

import { expect } from "chai";
import { TypedDataEncoder } from "ethers";

import type { AppOrder, DatasetOrder, RequestOrder, WorkerpoolOrder } from "../sdk/src/orders/eip712.js";
import { type OrderTypeName, sunpoolDomain, typesFor } from "../sdk/src/orders/eip712.js";
import { deployMarket, networkHelpers } from "./helpers/fixture.js";
import { encodeMatchOrders } from "../sdk/src/orders/codec.js";

interface Vector {
  value: Record<string, string>;
  structHash: string;
  digest: string;
}
const vectors = JSON.parse(readFileSync(new URL("./vectors/orders.json", import.meta.url), "utf8")) as Record<string, unknown> & {
  domain: { chainId: string; verifyingContract: string };
  domainSeparator: string;
};
const kinds: OrderTypeName[] = ["AppOrder", "DatasetOrder", "WorkerpoolOrder", "RequestOrder", "TaskAuthorization"];

describe("EIP-712 vectors (test/vectors/orders.json, also checked by test/solidity/OrderVectors.t.sol)", function () {
  const domain = sunpoolDomain(BigInt(vectors.domain.chainId), vectors.domain.verifyingContract);

  it("domain separator", function () {
    expect(TypedDataEncoder.hashDomain(domain)).to.equal(vectors.domainSeparator);
  });

  for (const kind of kinds) {
    it(`${kind}: the TypeScript types hash to the vector`, function () {
      const vector = vectors[kind] as Vector;
      expect(TypedDataEncoder.from(typesFor(kind)).hash(vector.value)).to.equal(vector.structHash);
      expect(TypedDataEncoder.hash(domain, typesFor(kind), vector.value)).to.equal(vector.digest);
    });
  }

  it("matchOrders encoding (also decoded by the Solidity test)", function () {
    const v = (kind: OrderTypeName) => (vectors[kind] as Vector).value;
    const encoding = vectors.matchOrders as { signatures: Record<string, string>; encoded: string };
    const orders = {
      app: v("AppOrder") as unknown as AppOrder,
      dataset: v("DatasetOrder") as unknown as DatasetOrder,
      workerpool: v("WorkerpoolOrder") as unknown as WorkerpoolOrder,
      request: v("RequestOrder") as unknown as RequestOrder,
    };
    expect(encodeMatchOrders(orders, encoding.signatures)).to.equal(encoding.encoded);
  });

  it("the deployed hub hashes orders like the vectors", async function () {
    const { hub } = await networkHelpers.loadFixture(deployMarket);
    const v = (kind: OrderTypeName) => vectors[kind] as Vector;
    // Vector values are decimal strings; ethers accepts them wherever a bigint is expected.
    expect(await hub.hashAppOrder(v("AppOrder").value as unknown as AppOrder)).to.equal(v("AppOrder").structHash);
    expect(await hub.hashDatasetOrder(v("DatasetOrder").value as unknown as DatasetOrder)).to.equal(v("DatasetOrder").structHash);
    expect(await hub.hashWorkerpoolOrder(v("WorkerpoolOrder").value as unknown as WorkerpoolOrder)).to.equal(
      v("WorkerpoolOrder").structHash,
    );
    expect(await hub.hashRequestOrder(v("RequestOrder").value as unknown as RequestOrder)).to.equal(v("RequestOrder").structHash);
  });
});
