import { Worker } from 'node:worker_threads';
import { RecomputeCalls, type RecomputeReply, type Recomputer } from './recomputer';

/**
 * A Recomputer on one Node worker thread (the Node host's): the host's own computations run on
 * another core, one at a time in the order asked, while its message queue goes on. The thread
 * starts on first use and is replaced if it dies.
 */
export function threadRecomputer(): Recomputer {
  let worker: Worker | undefined;
  let closed = false;
  const calls = new RecomputeCalls((request) => start().postMessage(request));
  function start(): Worker {
    if (worker) return worker;
    const w = new Worker(new URL('./recompute-thread-boot.mjs', import.meta.url));
    w.on('message', (reply: RecomputeReply) => calls.settle(reply.id, reply));
    w.on('error', (err) => {
      if (worker === w) worker = undefined;
      calls.failAll(`the recomputing thread failed: ${err.message}`);
    });
    w.on('exit', () => {
      if (worker === w) worker = undefined;
      calls.failAll('the recomputing thread exited');
    });
    // An idle thread must not keep the host process alive.
    w.unref();
    worker = w;
    return w;
  }
  return {
    root: (unit, signal) => (closed ? Promise.reject(new Error('the recomputer is closed')) : calls.root(unit, signal)),
    close: () => {
      closed = true;
      calls.failAll('the recomputer is closed');
      void worker?.terminate();
      worker = undefined;
    },
  };
}
