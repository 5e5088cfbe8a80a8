// GET /v1/tasks/{taskId}: a task as the pool sees it, for its requester above all: which workers
// it went to, what became of each, and for a failure the worker's reason and the app's last log
// lines. Log tails are the app's stderr, which may echo the requester's inputs: they go to the
// deal's requester only, proven by a requester signature (../requesterAuth.ts).
import type { FastifyInstance } from "fastify";

import { Rejection } from "../../errors.js";
import { readTaskView, type ReplicaView } from "../../tasks/taskView.js";
import type { ApiContext } from "../context.js";
import { fastifyPath, routeSchema } from "../openapi.js";
import { identifyRequester } from "../requesterAuth.js";

export function taskRoutes(app: FastifyInstance, context: ApiContext): void {
  const one = "/v1/tasks/{taskId}";
  app.get(fastifyPath(one), { schema: routeSchema(one, "get") }, async (request) => {
    const { taskId } = request.params as { taskId: string };
    const view = await readTaskView(context.db, taskId);
    if (view === undefined) {
      throw new Rejection(
        404,
        "unknown task",
        `this pool has no task ${taskId.toLowerCase()}`,
        "Check the id (sunpool run prints it; the SDK's computeTaskId(dealId, index) gives it) and ask the scheduler of the deal's workerpool: a pool knows its own tasks only, from the deal's creation on.",
      );
    }
    const caller = await identifyRequester(context, request);
    const isRequester = caller !== undefined && caller === view.requester;
    const withheld = !isRequester && view.replicas.some((replica) => replica.logTail !== undefined);
    const replicas = isRequester ? view.replicas : view.replicas.map((replica) => withoutLogTail(replica));
    return {
      ...view,
      replicas,
      failAfter: context.pool.failAfter,
      logTailsWithheld: withheld,
      ...(withheld ? { hint: withheldHint(caller, view.requester) } : {}),
    };
  });
}

function withheldHint(caller: string | undefined, requester: string): string {
  const who =
    caller === undefined
      ? "The request was not signed"
      : `The request was signed by ${caller}, not by the deal's requester ${requester}`;
  return `${who}: log tails may hold the requester's data and go to the requester only. Sign the request with the requester's wallet (sunpool task show with that wallet, or the SDK's getPoolTask with its signer).`;
}

function withoutLogTail(replica: ReplicaView): ReplicaView {
  const copy = { ...replica };
  delete copy.logTail;
  return copy;
}
