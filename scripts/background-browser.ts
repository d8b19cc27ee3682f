import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright';
import { chromiumArgs, findChromium } from './chromium';

/**
 * A Chromium that backgrounds and freezes pages as a volunteer's browser does. Playwright's own
 * launch adds --disable-background-timer-throttling, --disable-renderer-backgrounding and
 * --disable-backgrounding-occluded-windows, so its pages never throttle; here Chromium is
 * started with only our flags (scripts/chromium.ts) and Playwright attaches over CDP.
 */
export interface BackgroundBrowser {
  readonly browser: Browser;
  readonly context: BrowserContext;
  /** Opens a tab in the browser's one window (in front). */
  tab(): Promise<Page>;
  /** Opens a tab in front of the others: the tab that was in front is hidden behind it. */
  cover(): Promise<Page>;
  /** Freezes `page` as Chrome does under memory pressure or Energy Saver (Page Lifecycle `freeze`, then nothing runs). */
  freeze(page: Page): Promise<void>;
  /** Thaws a frozen page (`resume`), still hidden. */
  thaw(page: Page): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts Chromium with our flags and none of Playwright's. `extraArgs` may shorten Chrome's
 * intensive-throttling grace period (`intensiveAfterS`, default Chrome's 5 minutes), which the
 * farm uses to see minute-long timer ticks sooner than a real tab would.
 */
export async function launchBackgroundBrowser(options: { intensiveAfterS?: number; signal?: AbortSignal } = {}): Promise<BackgroundBrowser> {
  const executable = findChromium();
  if (!executable) throw new Error('no Chromium found (scripts/chromium.ts)');
  const profile = mkdtempSync(join(tmpdir(), 'tabgrid-bg-chromium-'));
  const args = [
    ...chromiumArgs(),
    '--headless=new',
    '--remote-debugging-port=0',
    `--user-data-dir=${profile}`,
    '--no-default-browser-check',
    ...(options.intensiveAfterS !== undefined ? [`--enable-features=IntensiveWakeUpThrottling:grace_period_seconds/${options.intensiveAfterS}`] : []),
    'about:blank',
  ];
  // A process group of its own: closing kills every Chromium process, renderers included, before the profile goes.
  const child: ChildProcess = spawn(executable, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const endpoint = await new Promise<string>((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`Chromium printed no DevTools endpoint in 30 s:\n${seen}`)), 30_000);
    child.stderr!.on('data', (c: Buffer) => {
      seen += c.toString();
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`Chromium exited (${code}) before it served DevTools:\n${seen}`));
    });
  });
  // `noDefaults` (Playwright's own, undeclared) keeps it from turning on focus emulation in each page, which holds every page visible.
  const browser = await chromium.connectOverCDP({ wsEndpoint: endpoint, ...({ noDefaults: true } as object) });
  const context = browser.contexts()[0]!;
  const sessions = new Map<Page, CDPSession>();
  const cdp = async (page: Page) => {
    let s = sessions.get(page);
    if (!s) {
      s = await context.newCDPSession(page);
      sessions.set(page, s);
    }
    return s;
  };
  // Tabs of one window: the one in front is visible, the rest hidden (a page Playwright opens gets a window of its own, always visible).
  const tab = async (): Promise<Page> => {
    const browserSession = await browser.newBrowserCDPSession();
    try {
      const opened = context.waitForEvent('page');
      const { targetId } = await browserSession.send('Target.createTarget', { url: 'about:blank', newWindow: false, background: false });
      await browserSession.send('Target.activateTarget', { targetId });
      return await opened;
    } finally {
      await browserSession.detach();
    }
  };
  return {
    browser,
    context,
    tab,
    cover: tab,
    async freeze(page) {
      await (await cdp(page)).send('Page.setWebLifecycleState', { state: 'frozen' });
    },
    async thaw(page) {
      await (await cdp(page)).send('Page.setWebLifecycleState', { state: 'active' });
    },
    async close() {
      await browser.close().catch(() => undefined);
      const exited = new Promise((resolve) => (child.exitCode === null && child.signalCode === null ? child.once('exit', resolve) : resolve(undefined)));
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        child.kill('SIGKILL'); // the group is gone already
      }
      await exited;
      // A straggler may still write a file as the profile goes: a leftover temp directory is no failure.
      try {
        rmSync(profile, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 });
      } catch (err) {
        console.warn(`could not remove Chromium profile ${profile}: ${(err as Error).message}`);
      }
    },
  };
}
