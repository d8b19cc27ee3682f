import type { Hasher } from '../hash/sha256-cpu';
import type { ChallengedUnit } from '../protocol';
import { recomputedRoot } from './recompute';
import type { DatasetSlice } from '../data/dataset';
import { shelf } from '../data/shelf';
import { unitSlices } from '../protocol';

/**
 * Where the host computes a bit-exact unit itself (replicas that all disagree): away from its
 * message queue, so a forced recomputation (up to seconds for the largest modp products) never
 * delays other volunteers' messages. The Node host runs it on a worker thread
 * (recompute-thread.ts), the page host on a Web Worker (recompute-web.ts).
 */
export interface Recomputer {
  /** The unit's Merkle root (hex), as recompute.ts computes it. */
  root(unit: ChallengedUnit, signal?: AbortSignal): Promise<string>;
  /** Stops its threads; pending calls reject. */
  close(): void;
}

/**
 * In this thread, after the current turn: it leaves the message queue free but not the thread,
 * so it suits tests and small units only. Shells that face the network pass a threaded one.
 */
export function inlineRecomputer(hash: Hasher): Recomputer {
  return {
    root: (unit, signal) =>
      new Promise((resolve, reject) =>
        setTimeout(() => {
          try {
            signal?.throwIfAborted();
            resolve(recomputedRoot(unit, hash));
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        }, 0),
      ),
    close: () => undefined,
  };
}

/** The request and reply a recomputing worker (thread or Web Worker) exchanges with the host. */
export interface RecomputeRequest {
  readonly id: number;
  readonly unit: ChallengedUnit;
  /** The bytes of the dataset slices the unit reads, from the host's shelf: a worker holds no datasets of its own. */
  readonly inputs: readonly { readonly slice: DatasetSlice; readonly data: Uint8Array }[];
}
export type RecomputeReply = { readonly id: number; readonly root: string } | { readonly id: number; readonly error: string };

/**
 * The host side of a recomputing worker: requests carry ids, replies are matched to them, and
 * an aborted or closed call rejects at once (the worker's answer, if any, is then dropped).
 */
export class RecomputeCalls {
  private next = 1;
  private readonly calls = new Map<number, { resolve: (root: string) => void; reject: (err: Error) => void }>();

  constructor(private readonly post: (request: RecomputeRequest) => void) {}

  root(unit: ChallengedUnit, signal?: AbortSignal): Promise<string> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new Error('recomputation aborted'));
      const id = this.next++;
      const onAbort = () => this.settle(id, { id, error: 'recomputation aborted' });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.calls.set(id, {
        resolve: (root) => (signal?.removeEventListener('abort', onAbort), resolve(root)),
        reject: (err) => (signal?.removeEventListener('abort', onAbort), reject(err)),
      });
      // Copies: the shelf's bytes are views of whole datasets, which postMessage would copy whole.
      this.post({ id, unit, inputs: unitSlices(unit).map((slice) => ({ slice, data: shelf.slice(slice).slice() })) });
    });
  }

  /** A reply from the worker. */
  settle(id: number, reply: RecomputeReply): void {
    const call = this.calls.get(id);
    if (!call) return;
    this.calls.delete(id);
    if ('root' in reply) call.resolve(reply.root);
    else call.reject(new Error(reply.error));
  }

  /** The worker failed or was closed: every pending call rejects. */
  failAll(reason: string): void {
    for (const id of [...this.calls.keys()]) this.settle(id, { id, error: reason });
  }
}

/** The worker side: computes one request (both kinds of worker share it). */
export function answerRecompute(request: RecomputeRequest, hash: Hasher): RecomputeReply {
  const releases = (request.inputs ?? []).map((i) => shelf.holdSlice(i.slice, i.data));
  try {
    return { id: request.id, root: recomputedRoot(request.unit, hash) };
  } catch (err) {
    return { id: request.id, error: err instanceof Error ? err.message : String(err) };
  } finally {
    for (const release of releases) release();
  }
}
