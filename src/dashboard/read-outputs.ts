/** Reads an accepted unit's output (HostCore.output): undefined when the store has none. */
export type OutputReader = (unitId: string) => Promise<Uint8Array | undefined>;

/**
 * Bytes read between two yields to the event loop. A memory store answers in microtasks, so
 * without a yield a 100 MiB job would be read in one long task and freeze the page.
 */
const YIELD_EVERY_BYTES = 4 << 20;

/**
 * Reads the outputs of `unitIds` one unit at a time, in order, handing each to `visit` (before
 * the next is read, so only what `visit` keeps stays in memory).
 */
export async function forEachOutput(
  unitIds: readonly string[],
  read: OutputReader,
  visit: (unitId: string, output: Uint8Array | undefined) => void,
): Promise<void> {
  let sinceYield = 0;
  for (const unitId of unitIds) {
    const output = await read(unitId);
    visit(unitId, output);
    sinceYield += output?.length ?? 0;
    if (sinceYield >= YIELD_EVERY_BYTES) {
      sinceYield = 0;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
}
