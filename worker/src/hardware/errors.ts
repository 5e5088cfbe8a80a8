// One error type for the hardware layer: what failed, on which device and register, with the
// values involved, and a hint saying what the operator can do about it. The base is the SDK's coded
// error, shared by every part.
import { SunpoolError } from "@sunpool/sdk";

export type HardwareErrorCode =
  | "HW_READ_FAILED"
  | "HW_WRITE_FAILED"
  | "HW_NOT_FOUND"
  | "HW_INVALID_ARGUMENT"
  | "HW_GPIO_UNAVAILABLE"
  | "HW_UNSUPPORTED"
  | "HW_PROTECTION_NOT_SET"
  | "HW_CLOCK_UNTRUSTED";

export interface HardwareErrorDetails {
  device?: string;
  register?: number;
  registerName?: string;
  expected?: number;
  actual?: number;
  hint?: string;
  cause?: unknown;
}

export class HardwareError extends SunpoolError<HardwareErrorCode> {
  override name = "HardwareError";
  readonly device: string | undefined;
  readonly register: number | undefined;
  readonly expected: number | undefined;
  readonly actual: number | undefined;
  readonly hint: string | undefined;

  constructor(code: HardwareErrorCode, message: string, details: HardwareErrorDetails = {}) {
    super(code, message, { ...(details.hint === undefined ? {} : { hints: [details.hint] }), cause: details.cause });
    this.device = details.device;
    this.register = details.register;
    this.expected = details.expected;
    this.actual = details.actual;
    this.hint = details.hint;
  }
}

export const hex = (n: number, width = 2): string => `0x${n.toString(16).padStart(width, "0")}`;

/** A short description of an I/O failure (`EIO: ...`), for messages. */
export function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === "string" && !cause.message.startsWith(code) ? `${code}: ${cause.message}` : cause.message;
  }
  return String(cause);
}
