/**
 * Every failure tabgrid reports is a TabgridError with a literal `code`, so callers branch on
 * the code, never on message text. The code survives Comlink (see worker/error-transfer.ts)
 * and the wire (the `error` message of protocol.ts).
 */
export const ErrorCode = {
  /** No WebGPU in this browser, or no adapter/device could be had. */
  NoWebGpu: 'no-webgpu',
  /** A GPU validation or out-of-memory error was raised while running a kernel. */
  GpuError: 'gpu-error',
  /** The GPU device was lost and could not be recovered. */
  DeviceLost: 'device-lost',
  /** The caller's AbortSignal fired. */
  Aborted: 'aborted',
  /** A kernel was given input it cannot run (sizes, lengths, limits). */
  BadInput: 'bad-input',
  /** A peer sent a message that is malformed, unknown, oversized or out of order. */
  BadMessage: 'bad-message',
  /** The peer speaks another protocol version. */
  ProtocolVersion: 'protocol-version',
  /** Signaling or data-channel failure. */
  Network: 'network',
  /** A result or opening names a unit this peer does not hold. */
  UnknownUnit: 'unknown-unit',
  /** A key-proof's signature, or a result's MAC, does not verify for the key (or connection) that claims it. */
  BadSignature: 'bad-signature',
  /** The volunteer's key is banned from every job this host serves (too many invalid results). */
  Banned: 'banned',
  /** The host cannot take this now (its memory for uploads is full): no fault of the peer's; send it again later. */
  Busy: 'busy',
  /** The host's durable store (SQLite file, IndexedDB) could not be opened, read or written. */
  Storage: 'storage',
  /** The browser refused to store more for this site (QuotaExceededError): free space or clear data. */
  StorageFull: 'storage-full',
  /** An observer's proof of the host's observer token does not verify (wrong token): the host closes the connection. */
  BadToken: 'bad-token',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const codes = new Set<string>(Object.values(ErrorCode));

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && codes.has(value);
}

export class TabgridError extends Error {
  override readonly name = 'TabgridError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isTabgridError(value: unknown, code?: ErrorCode): value is TabgridError {
  return value instanceof TabgridError && (code === undefined || value.code === code);
}

/** Throws `aborted` if the signal has fired; call between steps of long work. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new TabgridError(ErrorCode.Aborted, 'aborted', { cause: signal.reason });
}
