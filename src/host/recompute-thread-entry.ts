import { parentPort } from 'node:worker_threads';
import { createCpuSha256 } from '../hash/sha256-cpu';
import { answerRecompute, type RecomputeRequest } from './recomputer';

// The recomputing thread (recompute-thread.ts): one request at a time, in order.
const hash = await createCpuSha256();
parentPort!.on('message', (request: RecomputeRequest) => parentPort!.postMessage(answerRecompute(request, hash)));
