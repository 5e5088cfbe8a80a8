// What a worker receives when it pulls: everything it needs to act without asking the chain
// (image by digest, declared needs, dataset, params text, deadline, the scheduler's signed
// authorization), in the shape of the OpenAPI document's Assignment.
import type { App, Dataset } from "@sunpool/sdk";

import type { Pool } from "./pool.js";

export interface AssignmentJson {
  action: "run" | "reveal";
  taskId: string;
  dealId: string;
  index: number;
  trust: string;
  category: string;
  deadline: number;
  app: { id: string; image: string; imageDigest: string; platforms: string[]; needs: App["resources"] };
  dataset?: { id: string; cid: string; checksum: string };
  params: string;
  authorization: string;
  ipfsPeers: string[];
  lease?: { id: string; leaseSeconds: number };
}

export async function nextAssignment(
  pool: Pool,
  worker: string,
  ipfsPeers: string[],
  now: number,
): Promise<AssignmentJson | undefined> {
  const next = await pool.nextFor(worker, now);
  if (next === undefined) return undefined;
  const { replica, task, deal } = next;
  const reveal = replica.state === "reveal";
  // A reveal needs no params: a pool whose database lost the request (restored without it) has
  // none, and still tells the reveal. Tasks are offered to run only with their params.
  const params = deal.params ?? "";
  if (deal.params === null && !reveal) return undefined;
  const app = JSON.parse(deal.app) as App;
  const dataset = deal.dataset === null ? undefined : (JSON.parse(deal.dataset) as Dataset);
  return {
    action: reveal ? "reveal" : "run",
    taskId: task.task_id,
    dealId: task.deal_id,
    index: task.idx,
    trust: deal.trust.toString(),
    category: deal.category.toString(),
    deadline: task.deadline,
    app: { id: app.id, image: app.image, imageDigest: app.imageDigest, platforms: app.platforms, needs: app.resources },
    ...(dataset === undefined ? {} : { dataset: { id: dataset.id, cid: dataset.cid, checksum: dataset.checksum } }),
    params,
    authorization: replica.authorization,
    ipfsPeers,
    ...(replica.state === "offered" && replica.lease !== null
      ? { lease: { id: replica.lease, leaseSeconds: pool.leaseMs / 1000 } }
      : {}),
  };
}
