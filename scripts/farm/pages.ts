import { chromium, type Browser, type BrowserContext, type Page } from 'playwright';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';
import { launchOptions } from '../chromium';
import type { IcePath } from '../../src/net/ice-route';

/** Pages per Chromium process: each page has its own context (its own origin storage and tab lock). */
export const PAGES_PER_BROWSER = 8;

export interface PageFacts {
  readonly unitsDone: number;
  readonly outbox: number;
  readonly resumed: boolean;
  /** Milliseconds this page spent with a unit computing (sampled every 100 ms). */
  readonly computeMs: number;
  /** The widget's adapter line: where this page's kernels ran (and whether that was forced). */
  readonly backend: string;
  /** Input bytes this page fetched from the host and from peers, and sent to peers (the swarm; this load of the page). */
  readonly hostInputBytes: number;
  readonly peerInputBytes: number;
  readonly bytesServed: number;
  /** Volunteers fetching from this page now. */
  readonly uploading: number;
  /** How the page's connection travels (getStats' selected pair), when connected. */
  readonly path?: IcePath;
}

/** Counts the time a unit is being computed, on every load of the page (the widget's `computing`). */
function installComputeClock(): void {
  const w = window as unknown as { tabgridComputeMs: number };
  w.tabgridComputeMs = 0;
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    const el = document.querySelector('tabgrid-volunteer') as unknown as { computing?: boolean } | null;
    if (el?.computing) w.tabgridComputeMs += now - last;
    last = now;
  }, 100);
}

/** One volunteer tab of the farm: opened, reloaded, closed for good. */
export class VolunteerPage {
  closed = false;
  /** In one of the farm's own browsers (PAGES_PER_BROWSER to each). */
  own = false;
  /** Compute time of earlier loads of this page (a reload starts the page's clock again). */
  private earlierComputeMs = 0;
  /** Swarm counts of the page when it closed (a closed page's count stays in the farm's totals). */
  private earlierSwarm = { hostInputBytes: 0, peerInputBytes: 0, bytesServed: 0 };

  constructor(
    readonly index: number,
    context: BrowserContext,
    private readonly page: Page,
    private readonly url: string,
    /** Closes the tab for good (default: its context). */
    private readonly closeTab: () => Promise<void> = () => context.close(),
  ) {}

  /** Loads the page; the volunteer has not consented yet. */
  async open(): Promise<void> {
    await this.page.goto(this.url);
    await this.page.waitForFunction(() => customElements.get('tabgrid-volunteer') !== undefined);
  }

  /** Presses Start. */
  async start(): Promise<void> {
    await this.page.getByRole('button', { name: 'Start' }).click();
  }

  async facts(): Promise<PageFacts> {
    if (this.closed) return { unitsDone: 0, outbox: 0, resumed: false, computeMs: this.earlierComputeMs, backend: '', ...this.earlierSwarm, uploading: 0 };
    const f = await this.page.evaluate(() => {
      const el = document.querySelector('tabgrid-volunteer') as TabgridVolunteer | null;
      const ms = (window as unknown as { tabgridComputeMs?: number }).tabgridComputeMs ?? 0;
      const backend = el?.shadowRoot?.querySelector('[data-field="adapter"]')?.textContent?.trim() ?? '';
      const input = el?.inputBytes ?? { host: 0, peer: 0 };
      const path = el?.icePaths[0];
      return {
        unitsDone: el?.unitsDone ?? 0,
        outbox: el?.outbox ?? 0,
        resumed: el?.resumed ?? false,
        computeMs: ms,
        backend,
        hostInputBytes: input.host,
        peerInputBytes: input.peer,
        bytesServed: el?.bytesServed ?? 0,
        uploading: el?.uploading ?? 0,
        ...(path ? { path } : {}),
      };
    });
    return { ...f, computeMs: f.computeMs + this.earlierComputeMs };
  }

  /**
   * Reloads mid-work; the page resumes by itself, since the visitor's Start is remembered.
   * Returns the results the outbox held at the reload.
   */
  async reload(): Promise<{ outbox: number }> {
    // Mid-unit, after a checkpoint if one comes within a few seconds (short units may finish first).
    const written = await this.page.evaluate(() => (document.querySelector('tabgrid-volunteer') as TabgridVolunteer | null)?.checkpoints ?? 0);
    await this.page
      .waitForFunction(
        (n) => {
          const el = document.querySelector('tabgrid-volunteer') as TabgridVolunteer | null;
          return el !== null && el.computing && el.checkpoints > n;
        },
        written,
        { timeout: 8_000, polling: 50 },
      )
      .catch(() => undefined);
    const before = await this.facts();
    this.earlierComputeMs = before.computeMs;
    await this.page.reload();
    await this.page.waitForFunction(() => customElements.get('tabgrid-volunteer') !== undefined);
    await this.page.getByRole('button', { name: 'Pause' }).waitFor({ timeout: 30_000 });
    return { outbox: before.outbox };
  }

  /** Closes the tab for good; what it held comes back to the queue when its leases lapse. */
  async close(): Promise<void> {
    if (this.closed) return;
    const last = await this.facts();
    this.earlierComputeMs = last.computeMs;
    this.earlierSwarm = { hostInputBytes: last.hostInputBytes, peerInputBytes: last.peerInputBytes, bytesServed: last.bytesServed };
    this.closed = true;
    await this.closeTab();
  }
}

/** The farm's Chromium processes and their volunteer pages. */
export class PageFarm {
  private readonly browsers: Browser[] = [];
  readonly pages: VolunteerPage[] = [];

  /** Opens one more page (loaded, not started); in `tab` when given (a browser of the caller's: background-pages.ts), else in one of the farm's. */
  async add(url: string, tab?: { readonly context: BrowserContext; readonly page: Page; readonly close: () => Promise<void> }): Promise<VolunteerPage> {
    const index = this.pages.length;
    let page: VolunteerPage;
    if (tab) {
      await tab.context.addInitScript(installComputeClock);
      page = new VolunteerPage(index, tab.context, tab.page, url, tab.close);
    } else {
      if (this.browsers.length === 0 || this.pages.filter((p) => p.own).length % PAGES_PER_BROWSER === 0)
        this.browsers.push(await chromium.launch(launchOptions()));
      const context = await this.browsers.at(-1)!.newContext();
      await context.addInitScript(installComputeClock);
      page = new VolunteerPage(index, context, await context.newPage(), url);
      page.own = true;
    }
    this.pages.push(page);
    await page.open();
    return page;
  }

  async close(): Promise<void> {
    for (const b of this.browsers) await b.close().catch(() => undefined);
  }
}
