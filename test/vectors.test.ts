import { readFileSync, writeFileSync } from "node:fs";

import { expect } from "chai";
import { TypedDataEncoder } from "ethers";
import { parse as parseYaml } from "yaml";

import type { AppOrder, DatasetOrder, RequestOrder, WorkerpoolOrder } from "../sdk/src/orders/eip712.js";
import { ORDER_FIELDS, type OrderTypeName, sunpoolDomain, typesFor } from "../sdk/src/orders/eip712.js";
import { deployMarket, networkHelpers } from "./helpers/fixture.js";
import { oneFieldVectors } from "./helpers/orderVectors.js";
import { encodeMatchOrders } from "../sdk/src/orders/codec.js";

interface Vector {
  value: Record<string, string>;
  structHash: string;
  digest: string;
}
const VECTORS_FILE = new URL("./vectors/orders.json", import.meta.url);
if (process.env.SUNPOOL_UPDATE_VECTORS === "1") {
  const json = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as Record<string, unknown>;
  const fresh = oneFieldVectors();
  writeFileSync(VECTORS_FILE, JSON.stringify({ ...json, oneFieldCount: fresh.length, oneField: fresh }, null, 2) + "\n");
}
const vectors = JSON.parse(readFileSync(VECTORS_FILE, "utf8")) as Record<string, unknown> & {
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

  it("one-field vectors: one per field of the order table, each as the TypeScript codec encodes it", function () {
    // The file is the contract between the table and the Solidity codec (OrderVectors.t.sol decodes
    // each entry); a table change without a rewrite of the file fails here.
    const stale =
      "the order table changed: rewrite the vectors with SUNPOOL_UPDATE_VECTORS=1 npx hardhat test mocha test/vectors.test.ts";
    const pinned = vectors.oneField as unknown[];
    expect(vectors.oneFieldCount, stale).to.equal(pinned.length);
    expect(pinned, stale).to.deep.equal(oneFieldVectors());
    const fieldCount = Object.values(ORDER_FIELDS).reduce((sum, fields) => sum + fields.length, 0);
    expect(pinned).to.have.length(fieldCount);
  });

  it("the scheduler API's order schemas list the order table's fields, in order, all required", function () {
    const api = parseYaml(readFileSync(new URL("../api/scheduler.openapi.yaml", import.meta.url), "utf8")) as {
      components: { schemas: Record<string, { required: string[]; properties: Record<string, { $ref: string }> }> };
    };
    const schemaOfType = { bytes32: "Bytes32", address: "Address", uint256: "Uint" } as const;
    for (const [kind, fields] of Object.entries(ORDER_FIELDS)) {
      const schema = api.components.schemas[kind];
      const where = `api/scheduler.openapi.yaml components.schemas.${kind}`;
      expect(schema?.required, where).to.deep.equal(fields.map((field) => field.name));
      expect(Object.keys(schema?.properties ?? {}), where).to.deep.equal(fields.map((field) => field.name));
      for (const field of fields) {
        expect(schema?.properties[field.name]?.$ref, `${where}.${field.name}`).to.equal(
          `#/components/schemas/${schemaOfType[field.type]}`,
        );
      }
    }
  });
});
