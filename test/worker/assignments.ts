// A journaled task's assignment for tests that drive the journal and the pipeline without a pool.
import { ZeroHash } from "ethers";

import type { Assignment } from "../../sdk/src/scheduler/workers.js";

/** An assignment of `taskId` (a wordcount-like app, generous deadline); `overrides` replace fields. */
export function testAssignment(taskId: string, overrides: Partial<Assignment> = {}): Assignment {
  return {
    action: "run",
    taskId,
    dealId: `0x${"33".repeat(32)}`,
    index: 0,
    trust: "1",
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
    ...overrides,
  };
}
