import { describe, expect, it } from 'vitest';
import { isTabgridError } from '../../src/errors';
import { byteLimit, cacheBounds, evictionPlan, type DatasetRecord } from '../../src/volunteer/store/dataset-cache';
import { MemoryDatasetCache } from '../../src/volunteer/store/memory-dataset-cache';
import { describeDatasetCache } from '../helpers/dataset-cache-conformance';

describeDatasetCache('MemoryDatasetCache', async (options) => new MemoryDatasetCache(options));

describe('dataset cache policy', () => {
  const record = (root: string, bytes: number, lastUsed: number): DatasetRecord => ({ root, bytes, chunks: 1, lastUsed });

  it('evicts least recently used others until the chunk fits, and spares more on request', () => {
    const records = [record('x', 100, 3), record('y', 100, 1), record('z', 100, 2), record('own', 100, 0)];
    expect(evictionPlan(records, 'own', 50, { bytes: 400, datasets: 9 })).toEqual(['y']);
    expect(evictionPlan(records, 'own', 150, { bytes: 400, datasets: 9 })).toEqual(['y', 'z']);
    expect(evictionPlan(records, 'own', 0, { bytes: 400, datasets: 9 })).toEqual([]);
    expect(evictionPlan(records, 'own', 0, { bytes: 400, datasets: 9 }, 2)).toEqual(['y', 'z']);
    // A new dataset takes a place.
    expect(evictionPlan(records, 'new', 0, { bytes: 1000, datasets: 4 })).toEqual(['own']);
    // Never the own dataset: with every other gone it still does not fit.
    expect(evictionPlan(records, 'own', 301, { bytes: 400, datasets: 9 })).toBeUndefined();
    expect(evictionPlan([], 'own', 10, { bytes: 5, datasets: 9 })).toBeUndefined();
  });

  it('limits bytes by the budget and a fraction of the quota the rest of the site leaves', () => {
    const bounds = { budgetBytes: 1000, quotaFraction: 0.5 };
    expect(byteLimit(bounds, undefined, 0)).toBe(1000);
    expect(byteLimit(bounds, { usage: 10 }, 0)).toBe(1000);
    expect(byteLimit(bounds, { usage: 500, quota: 1500 }, 0)).toBe(500);
    // The cache's own bytes are not the rest of the site's.
    expect(byteLimit(bounds, { usage: 900, quota: 1500 }, 400)).toBe(500);
    expect(byteLimit(bounds, { usage: 0, quota: 1e12 }, 0)).toBe(1000);
    expect(byteLimit(bounds, { usage: 2000, quota: 1500 }, 0)).toBe(0);
  });

  it('refuses bad bounds', () => {
    for (const options of [
      { budgetBytes: -1 },
      { budgetBytes: 1.5 },
      { maxDatasets: 0 },
      { quotaFraction: 0 },
      { quotaFraction: 1.5 },
      { quotaFraction: NaN },
    ]) {
      let err: unknown;
      try {
        cacheBounds(options);
      } catch (e) {
        err = e;
      }
      expect(isTabgridError(err, 'bad-input'), JSON.stringify(options)).toBe(true);
    }
    expect(() => new MemoryDatasetCache({ maxDatasets: 0 })).toThrow(/maxDatasets/);
  });
});
