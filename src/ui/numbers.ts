import { Kernel } from '../kernels/units';

/**
 * The widget's numbers in words a visitor can read: counts with thousands separators, credit in
 * the work it pays for, rates per minute and per second, the time left on the current unit.
 * Always en-US grouping, so what a screenshot or a test reads does not depend on the browser.
 */
const COUNT = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const ONE_DECIMAL = new Intl.NumberFormat('en-US', { maximumFractionDigits: 1 });

/** "262,144". */
export function formatCount(n: number): string {
  return COUNT.format(n);
}

/** What one point of credit is for each kernel: the host pays one per SHA-256 compression block or per multiply-add (kernels' `work`). */
const CREDIT_WORK: Readonly<Record<Kernel, string>> = {
  [Kernel.Sha256Batch]: 'SHA-256 blocks',
  [Kernel.Sha256dPow]: 'SHA-256 blocks',
  [Kernel.MatmulF32]: 'multiply-adds',
  [Kernel.MatmulModp]: 'multiply-adds',
  [Kernel.MatmulI8]: 'multiply-adds',
};

/** What a unit's progress counts (unitSize): messages or nonces hashed, rows of a product computed. */
const ITEMS: Readonly<Record<Kernel, string>> = {
  [Kernel.Sha256Batch]: 'hashes',
  [Kernel.Sha256dPow]: 'hashes',
  [Kernel.MatmulF32]: 'matrix rows',
  [Kernel.MatmulModp]: 'matrix rows',
  [Kernel.MatmulI8]: 'matrix rows',
};

export function itemsOf(kernel: Kernel | undefined): string {
  return kernel ? ITEMS[kernel] : 'items';
}

/**
 * "262,144 points = 262,144 SHA-256 blocks hashed"; several kinds of work are listed; credit this
 * page cannot attribute (earned before a reload) is "from earlier work".
 */
export function describeCredit(total: number, byKernel: ReadonlyMap<Kernel, number>): string {
  const byWork = new Map<string, number>();
  for (const [kernel, credit] of byKernel) byWork.set(CREDIT_WORK[kernel], (byWork.get(CREDIT_WORK[kernel]) ?? 0) + credit);
  const known = [...byWork.values()].reduce((a, b) => a + b, 0);
  const parts = [...byWork].filter(([, n]) => n > 0).map(([work, n]) => `${formatCount(n)} ${work}`);
  if (total > known && parts.length > 0) parts.push(`${formatCount(total - known)} from earlier work`);
  const points = `${formatCount(total)} point${total === 1 ? '' : 's'}`;
  return parts.length === 0 ? points : `${points} = ${parts.join(' + ')}`;
}

/** "2.4 units/min". */
export function formatUnitsPerMinute(perMinute: number): string {
  return `${ONE_DECIMAL.format(perMinute)} unit${perMinute === 1 ? '' : 's'}/min`;
}

/** "12,345 hashes/s" (one decimal below 10). */
export function formatItemsPerSecond(perSecond: number, kernel: Kernel | undefined): string {
  return `${perSecond < 10 ? ONE_DECIMAL.format(perSecond) : formatCount(perSecond)} ${itemsOf(kernel)}/s`;
}

/** "about 40 s left", "about 3 min left"; undefined when nothing is known to run. */
export function estimateLeft(done: number, total: number, perSecond: number): string | undefined {
  if (!(perSecond > 0) || done >= total) return undefined;
  const s = Math.ceil((total - done) / perSecond);
  if (s < 60) return `about ${s} s left`;
  if (s < 3600) return `about ${Math.round(s / 60)} min left`;
  return `about ${ONE_DECIMAL.format(s / 3600)} h left`;
}

/** Bytes as the upload share counts them (10^6 per MB): "3.2 MB", "640 kB", "12 bytes". */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${Math.round(bytes / 1e3)} kB`;
  return `${bytes} bytes`;
}
