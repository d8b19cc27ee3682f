import { createCpuSha256 } from '../hash/sha256-cpu';
import { answerRecompute, type RecomputeRequest } from './recomputer';

// The page host's recomputing worker (recompute-web.ts).
const hashing = createCpuSha256();
self.onmessage = async (e: MessageEvent<RecomputeRequest>) => {
  self.postMessage(answerRecompute(e.data, await hashing));
};
