// What the agent does with an assignment the pool offers: take it into the journal (the energy
// manager permitting), take again a task the pool withdrew and offers anew, or decline it with the
// reason, so the pool hands it on at once instead of at the lease's end.
import { reportTask, type Assignment, type SchedulerClient } from "@sunpool/sdk";
import type { Logger } from "pino";

import type { EnergyManager } from "../energy/manager.js";
import { retakable, type Journal } from "../journal/journal.js";
import { failpoint } from "./failpoints.js";
import type { Withdrawals } from "./withdrawals.js";

export interface IntakeOptions {
  api: SchedulerClient;
  journal: Journal;
  energy: EnergyManager;
  withdrawals: Withdrawals;
  /** Unix milliseconds (the board's clock). */
  now(): number;
  log: Logger;
}

export interface Intake {
  /** Journals the offer as accepted, or declines it (reported to the pool). */
  accept(assignment: Assignment): Promise<void>;
  /** Tells the pool this worker will not run the task, and why. */
  decline(taskId: string, reason: string, cause?: "app" | "worker"): Promise<unknown>;
}

export function createIntake(options: IntakeOptions): Intake {
  const { api, journal, energy, log } = options;
  const decline = (taskId: string, reason: string, cause: "app" | "worker" = "worker") =>
    reportTask(api, taskId, { state: "failed", cause, reason });

  const accept = async (assignment: Assignment): Promise<void> => {
    const known = journal.get(assignment.taskId);
    // An offer of a task this worker abandoned before anything reached the chain (the pool withdrew
    // it: its lease ran out while the Pi was down) is a new offer: taken like one.
    const again = known !== undefined && assignment.action === "run" && retakable(known);
    if (known !== undefined && !again) {
      // A repeated offer: an open task is advanced by the open tasks' pass; one this worker gave up stays given up.
      if (known.step === "failed" || known.step === "abandoned") {
        await decline(known.taskId, known.reason ?? "given up earlier", known.step === "failed" ? "app" : "worker");
      }
      return;
    }
    if (assignment.action === "reveal") {
      await decline(assignment.taskId, "asked to reveal a task this worker has no contribution for");
      return;
    }
    const decision = energy.mayStart(assignment.app.id, assignment.app.needs);
    if (!decision.start) {
      log.info({ taskId: assignment.taskId, reason: decision.reason }, "declined a task: not enough energy");
      await decline(assignment.taskId, `not enough energy: ${decision.reason}`);
      return;
    }
    const now = Math.floor(options.now() / 1000);
    if (again) {
      if (!journal.retake(assignment, now)) return;
      options.withdrawals.take(assignment.taskId); // the old withdrawal no longer applies
      log.info({ taskId: assignment.taskId }, "the pool offered a withdrawn task again: taking it anew");
    } else {
      journal.accept(assignment, now);
    }
    failpoint("accepted");
  };

  return { accept, decline };
}
