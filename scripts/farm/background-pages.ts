import type { VolunteerPage, PageFarm } from './pages';
import { launchBackgroundBrowser, type BackgroundBrowser } from '../background-browser';

/**
 * The farm's pages that really go to the background (--hide, --freeze): each in a Chromium of
 * its own, started with only our flags (no Playwright defaults that keep pages visible and
 * unthrottled), where a tab opened in front hides it and CDP freezes it. Chrome's five minutes
 * before a hidden page's timers slow to one a minute are shortened to INTENSIVE_AFTER_S, so a
 * farm of minutes sees what a tab hidden for hours does.
 */
export const INTENSIVE_AFTER_S = 10;
/** How long a --freeze page stays frozen: several of the farm's leases, and past signaling's one-minute silence. */
export const FREEZE_MS = 70_000;

export class BackgroundPages {
  private readonly browsers = new Map<number, { readonly bg: BackgroundBrowser; readonly page: import('playwright').Page }>();
  private readonly thaws: Promise<void>[] = [];

  /** Opens the farm's next page in a background-capable Chromium. */
  async add(farm: PageFarm, url: string): Promise<VolunteerPage> {
    const bg = await launchBackgroundBrowser({ intensiveAfterS: INTENSIVE_AFTER_S });
    const page = await bg.tab();
    const added = await farm.add(url, { context: bg.context, page, close: () => bg.close() });
    this.browsers.set(added.index, { bg, page });
    return added;
  }

  /** Hides page `index` behind a tab opened in front of it, for the rest of the run. */
  async hide(index: number): Promise<void> {
    const b = this.browsers.get(index);
    if (!b) throw new Error(`farm page ${index} was not opened to be hidden`);
    await b.bg.cover();
    const visibility = await b.page.evaluate(() => document.visibilityState);
    if (visibility !== 'hidden') throw new Error(`farm page ${index} is ${visibility} behind the tab in front of it`);
  }

  /** Hides page `index` and freezes it for `ms`, then thaws it (still hidden); returns at once. */
  async freeze(index: number, ms: number, log: (line: string) => void): Promise<void> {
    await this.hide(index);
    const b = this.browsers.get(index)!;
    await b.bg.freeze(b.page);
    this.thaws.push(
      new Promise<void>((r) => setTimeout(r, ms)).then(async () => {
        await b.bg.thaw(b.page).catch((err: unknown) => log(`farm: could not thaw page ${index}: ${String(err)}`));
        log(`farm: page ${index} thawed after ${Math.round(ms / 1000)} s`);
      }),
    );
  }

  /** Waits for every frozen page to be thawed (a run must not end on a frozen page: its facts cannot be read). */
  async thawed(): Promise<void> {
    await Promise.all(this.thaws);
  }

  async close(): Promise<void> {
    for (const { bg } of this.browsers.values()) await bg.close();
    this.browsers.clear();
  }
}
