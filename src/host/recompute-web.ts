import { RecomputeCalls, type RecomputeReply, type Recomputer } from './recomputer';

/**
 * A Recomputer on a dedicated Web Worker (the page host's), so a recomputation never stalls the
 * researcher's tab or its data channels. Started on first use.
 */
export function webWorkerRecomputer(): Recomputer {
  let worker: Worker | undefined;
  const calls = new RecomputeCalls((request) => start().postMessage(request));
  function start(): Worker {
    if (worker) return worker;
    const w = new Worker(new URL('./recompute-web-worker.ts', import.meta.url), { type: 'module', name: 'tabgrid-recompute' });
    w.onmessage = (e: MessageEvent<RecomputeReply>) => calls.settle(e.data.id, e.data);
    w.onerror = (e) => {
      e.preventDefault();
      if (worker === w) worker = undefined;
      w.terminate();
      calls.failAll(`the recomputing worker failed: ${e.message}`);
    };
    worker = w;
    return w;
  }
  return {
    root: (unit, signal) => calls.root(unit, signal),
    close: () => {
      calls.failAll('the recomputer is closed');
      worker?.terminate();
      worker = undefined;
    },
  };
}
