// Order-book intake: signed request orders through the HTTP layer's validation (the OpenAPI
// schemas) and the book's CPU checks (EIP-712 hash, signer recovery, params digest), per second
// on one core. Not included: the book's two on-chain reads per order (consumed volume, and the
// asset owner or nothing for requests), which cost one RPC round trip each on the operator's node.
//   node scheduler/bench/intake.ts [orders=2000]
// Run after `npm run build`.
import {
  createRequestOrder,
  decodeTaskParams,
  encodeTaskParams,
  hashOrder,
  orderFromJson,
  orderToJson,
  recoverOrderSigner,
  signOrder,
  sunpoolDomain,
} from "@sunpool/sdk";
import { Wallet } from "ethers";
import Fastify from "fastify";

import { routeSchema, sharedSchema } from "../dist/api/openapi.js";

const count = Number(process.argv[2] ?? 2000);
const domain = sunpoolDomain(31337n, `0x${"55".repeat(20)}`);
const requester = Wallet.createRandom();
const bodies: string[] = [];
for (let i = 0; i < count; i++) {
  const params = encodeTaskParams({ args: ["word", "count", i.toString()] });
  const order = createRequestOrder({
    app: `0x${"11".repeat(32)}`,
    appMaxPrice: 10n ** 18n,
    workerpoolMaxPrice: 2n * 10n ** 18n,
    requester: requester.address,
    volume: 1,
    params: params.digest,
  });
  bodies.push(
    JSON.stringify({
      kind: "request",
      order: orderToJson(order),
      signature: await signOrder(requester, domain, "request", order),
      params: params.text,
    }),
  );
}

const app = Fastify({ ajv: { customOptions: { removeAdditional: false, coerceTypes: "array" } } });
app.addSchema(sharedSchema());
let accepted = 0;
app.post("/v1/orders", { schema: routeSchema("/v1/orders", "post") }, (request) => {
  const body = request.body as { order: unknown; signature: string; params: string };
  const order = orderFromJson("request", body.order);
  const hash = hashOrder("request", order);
  const signer = recoverOrderSigner(domain, "request", order, body.signature);
  decodeTaskParams(body.params, order.params);
  if (signer === requester.address) accepted++;
  return { hash };
});
await app.ready();

const started = process.hrtime.bigint();
for (const payload of bodies)
  await app.inject({ method: "POST", url: "/v1/orders", payload, headers: { "content-type": "application/json" } });
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
console.log(
  `order intake (schema validation + EIP-712 hash + signer recovery + params digest): ${Math.round(count / seconds).toLocaleString("en")} orders/s on one core (${accepted.toString()}/${count.toString()} accepted)`,
);
await app.close();
