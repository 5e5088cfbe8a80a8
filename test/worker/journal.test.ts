// The journal's hold on a replicated task's secret salt: written with the move to `sent` (before
// the contribution exists), kept across a reopen of the file (a power cut), never replaced by a
// later move, and added to journals written before hidden votes without touching their rows. A
// task the pool withdrew and offers again is taken anew only if nothing of it reached the chain.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

import { expect } from "chai";
import { concat, keccak256, zeroPadValue } from "ethers";

import type { Assignment } from "../../sdk/src/scheduler/workers.js";
import { commitmentOf, newSalt } from "../../worker/src/chain/contributions.js";
import { Journal, MAX_REPORT_BACKOFF_MS } from "../../worker/src/journal/journal.js";
import { MIGRATIONS } from "../../worker/src/journal/migrations.js";
import { testAssignment } from "./assignments.js";

const TASK = `0x${"11".repeat(32)}`;
const DIGEST = `0x${"22".repeat(32)}`;
const WORKER = "0x00000000000000000000000000000000000000aa";

const assignment = testAssignment(TASK, { trust: "2" });

function journalPath(): string {
  return join(mkdtempSync(join(tmpdir(), "sunpool-journal-")), "journal.sqlite");
}

describe("worker journal: the commitment's salt", function () {
  it("is on disk once the move to `sent` returns, and a later move cannot replace it", function () {
    const path = journalPath();
    const salt = newSalt();
    expect(salt).to.match(/^0x[0-9a-f]{64}$/);
    expect(newSalt()).to.not.equal(salt);
    const journal = new Journal(path);
    journal.accept(assignment, 1);
    const energy = { milliwattHours: 301, solarShareBps: 9585 };
    const energySplit = { pvWh: 0.2885, batteryWh: 0.0125, mainsWh: 0 };
    journal.advance(TASK, { step: "executed", digest: DIGEST, energy, energySplit }, 2);
    journal.advance(TASK, { step: "sent", fromBlock: 7, salt }, 3);
    // No close: a power cut gives the process no chance to. Another connection reads the file.
    const reopened = new Journal(path);
    expect(reopened.get(TASK)).to.include({ step: "sent", fromBlock: 7, salt });
    // The energy split, journaled with the receipt, is there for the report sent after the cut.
    expect(reopened.get(TASK)).to.deep.include({ energy, energySplit });

    reopened.advance(TASK, { step: "sent", salt: newSalt(), transactionHash: `0x${"44".repeat(32)}` }, 4);
    reopened.advance(TASK, { step: "committed", round: 2 }, 5);
    expect(reopened.get(TASK)).to.include({ step: "committed", salt, round: 2 });
    journal.close();
    reopened.close();
  });

  it("is added to a journal written before hidden votes; its rows are kept, without a salt", function () {
    const path = journalPath();
    const old = new DatabaseSync(path);
    old.exec(MIGRATIONS[0]!);
    old.exec("PRAGMA user_version = 1");
    old
      .prepare(
        `INSERT INTO tasks (task_id, deal_id, idx, trust, deadline, assignment, step, digest, from_block, accepted_at, updated_at)
         VALUES (?, ?, 0, 2, ?, ?, 'sent', ?, 5, 1, 1)`,
      )
      .run(TASK, assignment.dealId, assignment.deadline, JSON.stringify(assignment), DIGEST);
    old.close();

    const journal = new Journal(path);
    const task = journal.get(TASK)!;
    expect(task).to.include({ step: "sent", digest: DIGEST, fromBlock: 5 });
    expect(task.salt).to.equal(undefined);
    expect(task.round).to.equal(undefined);
    expect(task.energySplit).to.equal(undefined);
    journal.close();
  });
});

describe("worker journal: a withdrawn task offered again", function () {
  const again: Assignment = { ...assignment, authorization: "0x01", lease: { id: "ab".repeat(16), leaseSeconds: 45 } };
  const withdrawn = "the pool withdrew the offer (its lease expired)";

  it("is taken anew when nothing of it reached the chain, keeping nothing of the earlier run", function () {
    const journal = new Journal(journalPath());
    journal.accept(assignment, 1);
    const energy = { milliwattHours: 301, solarShareBps: 9585 };
    journal.advance(TASK, { step: "executed", digest: DIGEST, energy }, 2);
    journal.advance(TASK, { step: "published", location: "bafy-earlier" }, 3);
    journal.advance(TASK, { step: "abandoned", reason: withdrawn }, 4);

    expect(journal.retake(again, 9)).to.equal(true);
    const task = journal.get(TASK)!;
    expect(task).to.deep.include({ step: "accepted", assignment: again, acceptedAt: 9 });
    for (const kept of ["digest", "location", "energy", "energySplit", "reason", "salt", "fromBlock", "transactionHash"]) {
      expect(task, kept).to.not.have.property(kept);
    }
    expect(journal.open().map((open) => open.taskId)).to.deep.equal([TASK]);
    journal.close();
  });

  it("is not taken when a contribution was sent (a salt, a block, a transaction), nor when it failed or is open", function () {
    const sent = new Journal(journalPath());
    sent.accept(assignment, 1);
    sent.advance(TASK, { step: "executed", digest: DIGEST }, 2);
    sent.advance(TASK, { step: "sent", fromBlock: 7, salt: newSalt() }, 3);
    sent.advance(TASK, { step: "abandoned", reason: "the hub refused the contribution: TaskDeadlinePassed" }, 4);
    expect(sent.retake(again, 9)).to.equal(false);
    expect(sent.get(TASK)).to.deep.include({ step: "abandoned", assignment, fromBlock: 7 });
    sent.close();

    for (const step of ["failed", "executed"] as const) {
      const journal = new Journal(journalPath());
      journal.accept(assignment, 1);
      journal.advance(TASK, { step }, 2);
      expect(journal.retake(again, 9), step).to.equal(false);
      expect(journal.get(TASK), step).to.deep.include({ step, assignment });
      journal.close();
    }
  });
});

describe("worker journal: reports waiting for the scheduler", function () {
  const split = { pvWh: 0.2885, batteryWh: 0.0125, mainsWh: 0 };
  const submitted = {
    state: "submitted",
    resultLocation: "bafy-result",
    transaction: `0x${"44".repeat(32)}`,
    energySplit: split,
  } as const;

  it("are journaled with the step they follow and outlive a power cut; a task the journal lacks queues nothing", function () {
    const path = journalPath();
    const journal = new Journal(path);
    journal.accept(assignment, 1);
    journal.advance(TASK, { step: "done", transactionHash: submitted.transaction }, 10, submitted);
    // No close: a power cut gives the process no chance to. Another connection reads the file.
    const reopened = new Journal(path);
    expect(reopened.get(TASK)).to.include({ step: "done" });
    expect(reopened.queuedReports(10_000)).to.deep.equal([
      { seq: 1, taskId: TASK, body: submitted, attempts: 0, queuedAt: 10_000 },
    ]);

    const other = `0x${"55".repeat(32)}`;
    expect(() => reopened.advance(other, { step: "done" }, 11, { ...submitted, state: "failed" })).to.throw(/no task/);
    expect(reopened.queuedReports().map((report) => report.taskId)).to.deep.equal([TASK]);
    journal.close();
    reopened.close();
  });

  it("are due when their wait is over, or at once when the board's clock went back; queued again, a report replaces its earlier self", function () {
    const journal = new Journal(journalPath());
    journal.accept(assignment, 1);
    journal.advance(TASK, { step: "committed" }, 10, { ...submitted, state: "contributed" });
    const [queued] = journal.queuedReports();
    journal.deferReport(queued!.seq, 12_000, "the scheduler did not answer");
    expect(journal.queuedReports(11_999)).to.deep.equal([]);
    expect(journal.queuedReports(12_000)).to.deep.equal([{ ...queued, attempts: 1, lastError: "the scheduler did not answer" }]);
    // A wait longer than any backoff means the clock went back (an RTC resync): due now.
    expect(journal.queuedReports(12_000 - MAX_REPORT_BACKOFF_MS - 1)).to.have.length(1);

    journal.advance(TASK, { step: "committed" }, 20, { ...submitted, state: "contributed", resultLocation: "bafy-again" });
    journal.advance(TASK, { step: "done" }, 30, { ...submitted, state: "revealed" });
    const reports = journal.queuedReports(30_000);
    expect(reports.map(({ body, attempts }) => [body.state, body.resultLocation, attempts])).to.deep.equal([
      ["contributed", "bafy-again", 0],
      ["revealed", "bafy-result", 0],
    ]);
    journal.unqueueReport(reports[0]!.seq);
    expect(journal.queuedReports().map(({ body }) => body.state)).to.deep.equal(["revealed"]);
    journal.close();
  });
});

describe("worker commitments", function () {
  it("are keccak256 over the four 32-byte words of abi.encode(taskId, digest, worker, salt), as the hub hashes them", function () {
    const salt = newSalt();
    const words = concat([TASK, DIGEST, zeroPadValue(WORKER, 32), salt]);
    expect(commitmentOf(TASK, DIGEST, WORKER, salt)).to.equal(keccak256(words));
    expect(commitmentOf(TASK, DIGEST, WORKER, newSalt())).to.not.equal(keccak256(words));
  });
});
