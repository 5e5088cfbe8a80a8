// The worker's queued reports (pipeline.ts, sendQueuedReports) against a real HTTP server that
// answers as a scheduler does when it is down, refuses, or finds a timestamp stale: what is kept,
// what is dropped, and when it is tried again. The agent's end-to-end path (a proxy dropping
// reports, a restart on the same journal) is in agent.test.ts.
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { expect } from "chai";
import { pino } from "pino";

import { createSchedulerClient } from "../../sdk/src/scheduler/client.js";
import type { TaskReport } from "../../sdk/src/scheduler/workers.js";
import { sendQueuedReports } from "../../worker/src/agent/pipeline.js";
import { Journal } from "../../worker/src/journal/journal.js";
import { testAssignment } from "./assignments.js";

const task = (n: number) => `0x${n.toString(16).padStart(2, "0").repeat(32)}`;

/** How the fake scheduler answers a report, by task: the answers are used up in order. */
type Answer = 200 | 503 | "stale" | "not assigned" | "hang up";

async function schedulerAnswering(plan: Map<string, Answer[]>) {
  const seen: string[] = [];
  const server: Server = createServer((request, response) => {
    const taskId = /\/v1\/workers\/tasks\/(0x[0-9a-f]{64})\/report$/.exec(request.url ?? "")?.[1] ?? "";
    seen.push(taskId);
    const answer = plan.get(taskId)?.shift() ?? 200;
    const problem = (status: number, title: string) => {
      response.writeHead(status, { "content-type": "application/problem+json" });
      response.end(JSON.stringify({ type: "about:blank", status, title, detail: title }));
    };
    if (answer === "hang up") request.socket.destroy();
    else if (answer === 503) problem(503, "database unavailable");
    else if (answer === "stale") problem(401, "stale request");
    else if (answer === "not assigned") problem(404, "not assigned");
    else {
      response.writeHead(200, { "content-type": "application/json" });
      response.end(JSON.stringify({ taskId, state: "running" }));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port.toString()}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("worker reports queued in the journal", function () {
  const report = (state: TaskReport["state"]): TaskReport => ({ state, energySplit: { pvWh: 0.3, batteryWh: 0, mainsWh: 0 } });

  function journalWith(reports: [string, TaskReport][], queuedAtSeconds: number): Journal {
    const journal = new Journal(join(mkdtempSync(join(tmpdir(), "sunpool-reports-")), "journal.sqlite"));
    for (const [taskId, body] of reports) {
      journal.accept(testAssignment(taskId), 1);
      journal.advance(taskId, { step: "done" }, queuedAtSeconds, body);
    }
    return journal;
  }

  it("a scheduler that does not answer stops the round; each report waits its own doubling time and is taken later", async function () {
    const scheduler = await schedulerAnswering(new Map([[task(1), [503, "hang up"]]]));
    const journal = journalWith(
      [
        [task(1), report("submitted")],
        [task(2), report("failed")],
      ],
      100,
    );
    let now = 100_000;
    const ctx = { journal, api: createSchedulerClient({ url: scheduler.url }), log: pino({ level: "silent" }), now: () => now };
    try {
      await sendQueuedReports(ctx);
      // The 503 stopped the round: the second report was not sent after it.
      expect(scheduler.seen).to.deep.equal([task(1)]);
      expect(journal.queuedReports().map(({ taskId, attempts }) => [taskId, attempts])).to.deep.equal([
        [task(1), 1],
        [task(2), 0],
      ]);
      expect(journal.queuedReports()[0]!.lastError).to.contain("HTTP 503");

      // Each report keeps its own wait: the next round sends the second, not yet the first (1 s).
      await sendQueuedReports(ctx);
      expect(scheduler.seen).to.deep.equal([task(1), task(2)]);
      now += 1000;
      await sendQueuedReports(ctx); // the connection is dropped: the wait doubles
      expect(scheduler.seen).to.deep.equal([task(1), task(2), task(1)]);
      now += 1999;
      await sendQueuedReports(ctx);
      expect(scheduler.seen).to.have.length(3);
      now += 1;
      await sendQueuedReports(ctx);
      expect(scheduler.seen).to.deep.equal([task(1), task(2), task(1), task(1)]);
      expect(journal.queuedReports()).to.deep.equal([]);
    } finally {
      await scheduler.close();
      journal.close();
    }
  });

  it("a refusal drops the report; a stale timestamp does not; a day-old report is given up", async function () {
    const scheduler = await schedulerAnswering(
      new Map<string, Answer[]>([
        [task(1), ["not assigned"]],
        // The SDK's signing client signs anew and resends a stale request three times; a plain
        // client gets the 401 itself, as the signing one does once its resends are used up.
        [task(2), ["stale"]],
      ]),
    );
    const journal = journalWith(
      [
        [task(1), report("failed")],
        [task(2), report("submitted")],
      ],
      100,
    );
    let now = 100_000;
    const ctx = { journal, api: createSchedulerClient({ url: scheduler.url }), log: pino({ level: "silent" }), now: () => now };
    try {
      await sendQueuedReports(ctx);
      expect(journal.queuedReports().map(({ taskId, attempts }) => [taskId, attempts])).to.deep.equal([[task(2), 1]]);

      // A scheduler down for a day: the report is given up (the scheduler learns the state from the chain).
      const down = await schedulerAnswering(new Map([[task(2), Array<Answer>(10).fill(503)]]));
      const late = { ...ctx, api: createSchedulerClient({ url: down.url }) };
      now += 24 * 3600_000 - 1000;
      await sendQueuedReports(late);
      expect(journal.queuedReports()).to.have.length(1);
      now += 24 * 3600_000;
      await sendQueuedReports(late);
      expect(journal.queuedReports()).to.deep.equal([]);
      expect(down.seen).to.deep.equal([task(2), task(2)]);
      await down.close();
    } finally {
      await scheduler.close();
      journal.close();
    }
  });
});
