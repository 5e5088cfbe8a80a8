// The CLI's exit codes by error code; documented in docs/sdk.md ("Errors and exit codes").
import type { SunpoolErrorCode } from "../errors/base.js";

export const EXIT_CODES: Record<SunpoolErrorCode, number> = {
  INVALID_INPUT: 3,
  CONFIG: 3,
  KEYSTORE: 3,
  INSUFFICIENT_BALANCE: 4,
  INSUFFICIENT_TOKENS: 4,
  ASSET_NOT_FOUND: 5,
  ASSET_EXISTS: 5,
  APP_NOT_DETERMINISTIC: 5,
  NO_MATCHING_ORDER: 5,
  CONTRACT_REVERT: 5,
  CHAIN_MISMATCH: 5,
  SCHEDULER_REJECTED: 5,
  RPC_UNREACHABLE: 6,
  SCHEDULER_UNREACHABLE: 6,
  RESULT_UNAVAILABLE: 6,
  RESULT_MISMATCH: 7,
  TIMEOUT: 8,
  TASK_FAILED: 8,
};
