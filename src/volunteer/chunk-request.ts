import { ErrorCode, TabgridError } from '../errors';
import { DATASET_CHUNK_BYTES, MAX_CHUNKS_PER_REQUEST, type ServedChunk } from '../data/dataset';
import type { HostMessage } from '../protocol';

/** A chunk as the host's data message brings it. */
export type ChunkMessage = Extract<HostMessage, { type: 'chunk' }>;

/**
 * The chunks one get-chunks request asked for (first … first + count − 1 of dataset `root`),
 * gathered as they come, in any order, and handed over in order once all are in. It holds at
 * most `count` chunks of at most DATASET_CHUNK_BYTES: a chunk of another dataset, outside the
 * range, twice, or too long fails the request at once, as does silence for `idleMs` between
 * chunks. It checks no proof: the chunks come back unverified, for the caller's chunkProblem.
 */
export class ChunkRequest {
  readonly done: Promise<ServedChunk[]>;
  private readonly chunks: (ServedChunk | undefined)[];
  private received = 0;
  private settled = false;
  private timer?: ReturnType<typeof setTimeout>;
  private settle!: { resolve(chunks: ServedChunk[]): void; reject(err: unknown): void };

  constructor(
    readonly root: string,
    readonly first: number,
    readonly count: number,
    private readonly idleMs: number,
  ) {
    if (!/^[0-9a-f]{64}$/.test(root))
      throw new TabgridError(ErrorCode.BadInput, `dataset root ${JSON.stringify(root.slice(0, 80))} is not 64 lower-case hex digits`);
    if (!Number.isSafeInteger(first) || first < 0) throw new TabgridError(ErrorCode.BadInput, `first chunk ${first} is not an integer ≥ 0`);
    if (!Number.isInteger(count) || count < 1 || count > MAX_CHUNKS_PER_REQUEST) {
      throw new TabgridError(ErrorCode.BadInput, `a request asks for 1..${MAX_CHUNKS_PER_REQUEST} chunks, not ${count}`);
    }
    this.chunks = new Array<ServedChunk | undefined>(count).fill(undefined);
    this.done = new Promise((resolve, reject) => (this.settle = { resolve, reject }));
    this.arm();
  }

  /** A chunk message naming this request. */
  take(m: ChunkMessage): void {
    if (this.settled) return;
    const what = `chunk ${m.index} of ${m.root.slice(0, 12)}…`;
    const want = `chunks ${this.first}..${this.first + this.count - 1} of ${this.root.slice(0, 12)}…`;
    if (m.root !== this.root || m.index < this.first || m.index >= this.first + this.count)
      return this.fail(badMessage(`host sent ${what}; the request asked for ${want}`));
    if (this.chunks[m.index - this.first]) return this.fail(badMessage(`host sent ${what} twice`));
    if (m.data.length > DATASET_CHUNK_BYTES)
      return this.fail(badMessage(`host sent ${what} of ${m.data.length} bytes; a chunk holds at most ${DATASET_CHUNK_BYTES}`));
    this.chunks[m.index - this.first] = { index: m.index, path: m.path, data: m.data };
    if (++this.received < this.count) return this.arm();
    this.finish();
    this.settle.resolve(this.chunks as ServedChunk[]);
  }

  /** Fails the request (an error answering it, the connection lost, the caller gave up); what it holds is let go. */
  fail(err: unknown): void {
    if (this.settled) return;
    this.finish();
    this.chunks.fill(undefined);
    this.settle.reject(err);
  }

  private arm(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () =>
        this.fail(
          new TabgridError(
            ErrorCode.Network,
            `no chunk of ${this.root.slice(0, 12)}… from the host for ${this.idleMs} ms (${this.received} of ${this.count} came)`,
          ),
        ),
      this.idleMs,
    );
  }

  private finish(): void {
    this.settled = true;
    clearTimeout(this.timer);
  }
}

function badMessage(why: string): TabgridError {
  return new TabgridError(ErrorCode.BadMessage, why);
}
