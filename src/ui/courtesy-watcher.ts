import type { CourtesySettings } from './choices';

/** Why courtesy holds the work back, when it does. */
export const CourtesyHold = { InUse: 'in-use', OnBattery: 'on-battery' } as const;
export type CourtesyHold = (typeof CourtesyHold)[keyof typeof CourtesyHold];

/** The part of the Battery Status API we read (not in TypeScript's DOM types). */
interface BatteryLike extends EventTarget {
  readonly charging: boolean;
}

/** True where the browser can tell battery from mains (Chromium); elsewhere the option is hidden. */
export function batteryApiAvailable(): boolean {
  return typeof navigator !== 'undefined' && typeof (navigator as { getBattery?: unknown }).getBattery === 'function';
}

/** Input that shows someone is using the page. IdleDetector needs a permission prompt; these do not. */
const INPUT_EVENTS = ['pointermove', 'pointerdown', 'keydown', 'wheel', 'touchstart', 'scroll'] as const;

export interface WatcherOptions {
  /** The visitor counts as idle after this long without input (ms); read at each check, so a changed setting applies. */
  readonly idleMs: () => number;
  readonly now?: () => number;
}

/**
 * Watches what the courtesy settings depend on (page visibility, input, the battery) and emits
 * `change` whenever `hold` changes. Input and visibility act at once; becoming idle is noticed
 * by a once-a-second check, so every setting takes effect within a second.
 */
export class CourtesyWatcher extends EventTarget {
  private lastInput = 0;
  private timer?: ReturnType<typeof setInterval>;
  private battery?: BatteryLike;
  private last?: CourtesyHold;
  private readonly now: () => number;
  private readonly check = () => this.update();
  private readonly onInput = () => {
    this.lastInput = this.now();
    this.update();
  };

  constructor(
    private readonly settings: () => CourtesySettings,
    private readonly options: WatcherOptions,
  ) {
    super();
    this.now = options.now ?? (() => performance.now());
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.lastInput = this.now();
    for (const type of INPUT_EVENTS) window.addEventListener(type, this.onInput, { capture: true, passive: true });
    document.addEventListener('visibilitychange', this.check);
    this.timer = setInterval(this.check, 1000);
    this.watchBattery();
    this.last = this.compute();
  }

  stop(): void {
    for (const type of INPUT_EVENTS) window.removeEventListener(type, this.onInput, { capture: true });
    document.removeEventListener('visibilitychange', this.check);
    this.battery?.removeEventListener('chargingchange', this.check);
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Why work should wait, as last announced by `change` (undefined: it may run). */
  get hold(): CourtesyHold | undefined {
    return this.timer === undefined ? undefined : this.last;
  }

  /** Call when the settings change, so a new setting acts at once. */
  update(): void {
    const hold = this.compute();
    if (hold === this.last) return;
    this.last = hold;
    this.dispatchEvent(new Event('change'));
  }

  private compute(): CourtesyHold | undefined {
    const s = this.settings();
    if (s.pauseOnBattery && this.battery && !this.battery.charging) return CourtesyHold.OnBattery;
    const inUse = document.visibilityState === 'visible' && this.now() - this.lastInput < this.options.idleMs();
    if (s.onlyWhenIdle && inUse) return CourtesyHold.InUse;
    return undefined;
  }

  private watchBattery(): void {
    if (this.battery || !batteryApiAvailable()) return;
    const get = (navigator as unknown as { getBattery(): Promise<BatteryLike> }).getBattery;
    get.call(navigator).then(
      (battery) => {
        if (this.timer === undefined) return;
        this.battery = battery;
        battery.addEventListener('chargingchange', this.check);
        this.update();
      },
      () => undefined, // refused (e.g. by a permissions policy): treated as mains power
    );
  }
}
