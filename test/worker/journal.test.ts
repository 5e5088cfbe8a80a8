// The journal's hold on a replicated task's secret salt: written with the move to `sent` (before
// the contribution exists), kept across a reopen of the file (a power cut), never replaced by a
// later move, and added to journals written before hidden votes without touching their rows. A
// task the pool withdrew and offers again is taken anew only if nothing of it reached the chain.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

import { expect } from "chai";
import { concat, keccak256, ZeroHash, zeroPadValue } from "ethers";

import type { Assignment } from "../../sdk/src/scheduler/workers.js";
import { commitmentOf, newSalt } from "../../worker/src/chain/contributions.js";
import { Journal } from "../../worker/src/journal/journal.js";
import { MIGRATIONS } from "../../worker/src/journal/migrations.js";

const TASK = `0x${"11".repeat(32)}`;
const DIGEST = `0x${"22".repeat(32)}`;
const WORKER = "0x00000000000000000000000000000000000000aa";

const assignment: Assignment = {
  action: "run",
  taskId: TASK,
  dealId: `0x${"33".repeat(32)}`,
  index: 0,
  trust: "2",
  category: "0",
  deadline: 2_000_000_000,
  app: {
    id: ZeroHash,
    image: "127.0.0.1:5000/wordcount",
    imageDigest: `sha256:${"ab".repeat(32)}`,
    platforms: ["linux/amd64"],
    needs: { memoryMiB: 64, cpuMillicores: 500, expectedSeconds: 10, maxOutputMiB: 1, network: false },
  },
  params: "{}",
  authorization: "0x",
  ipfsPeers: [],
};

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

describe("worker commitments", function () {
  it("are keccak256 over the four 32-byte words of abi.encode(taskId, digest, worker, salt), as the hub hashes them", function () {
    const salt = newSalt();
    const words = concat([TASK, DIGEST, zeroPadValue(WORKER, 32), salt]);
    expect(commitmentOf(TASK, DIGEST, WORKER, salt)).to.equal(keccak256(words));
    expect(commitmentOf(TASK, DIGEST, WORKER, newSalt())).to.not.equal(keccak256(words));
  });
});
