import { transferHandlers } from 'comlink';
import { TabgridError, isErrorCode } from '../errors';

interface SerializedThrow {
  isError: boolean;
  value: unknown;
}

let installed = false;

/**
 * Comlink sends a thrown Error as {message, name, stack}; this keeps a TabgridError's `code`
 * too, so the page sees the worker's error as the same TabgridError. Install on both sides.
 */
export function installErrorTransfer(): void {
  if (installed) return;
  installed = true;
  const base = transferHandlers.get('throw')!;
  transferHandlers.set('throw', {
    canHandle: base.canHandle,
    serialize(thrown: unknown) {
      const value = (thrown as { value: unknown }).value;
      if (value instanceof TabgridError) {
        return [{ isError: true, value: { message: value.message, stack: value.stack, code: value.code } }, []];
      }
      return base.serialize(thrown);
    },
    deserialize(serialized: unknown) {
      const s = serialized as SerializedThrow;
      const v = s.value as { code?: unknown; message?: string; stack?: string } | undefined;
      if (s.isError && v && isErrorCode(v.code)) {
        const err = new TabgridError(v.code, v.message ?? '');
        if (v.stack) err.stack = v.stack;
        throw err;
      }
      return base.deserialize(serialized);
    },
  });
}
