import { MIN_SHARE } from '../duty-cycle';
import { recall, recallJson, remember, rememberedKey } from '../remembered';

/*
 * What a visitor chose, kept in this origin's localStorage under keys namespaced by the host
 * ids, so two widgets for different hosts on one site remember separately. Storage may be
 * missing or refuse (sandboxed frames, privacy modes): then choices last for the page only.
 */

/**
 * The visitor's answer to "contribute?": nothing runs until Start. Started or Paused is kept
 * per origin and host, so a returning visitor who pressed Start resumes by itself and one who
 * pressed Pause stays paused; Unasked means the question is still open.
 */
export const Consent = { Unasked: 'unasked', Started: 'started', Paused: 'paused' } as const;
export type Consent = (typeof Consent)[keyof typeof Consent];

export function consentKey(hosts: string): string {
  return rememberedKey('consent', hosts);
}

export function recallConsent(hosts: string): Consent {
  const value = recall(consentKey(hosts));
  return value === Consent.Started || value === Consent.Paused ? value : Consent.Unasked;
}

export function rememberConsent(hosts: string, consent: Exclude<Consent, 'unasked'>): void {
  remember(consentKey(hosts), consent);
}

/** How hard, and when, a volunteer lets the widget work; kept per origin and host. */
export interface CourtesySettings {
  /** Share of compute time, in percent (10–100): the duty cycle of duty-cycle.ts. */
  readonly throttle: number;
  /** Compute only while this tab is hidden or the visitor has not touched the page for a while. */
  readonly onlyWhenIdle: boolean;
  /** Pause while the device runs on battery (where the Battery API says so). */
  readonly pauseOnBattery: boolean;
}

export const DEFAULT_COURTESY: CourtesySettings = { throttle: 100, onlyWhenIdle: false, pauseOnBattery: false };

export const MIN_THROTTLE = Math.round(MIN_SHARE * 100);

/** A throttle percentage the worker accepts: whole percent within 10–100; anything else is the default. */
export function clampThrottle(percent: unknown): number {
  const n = typeof percent === 'string' ? Number(percent) : percent;
  if (typeof n !== 'number' || !Number.isFinite(n)) return DEFAULT_COURTESY.throttle;
  return Math.min(100, Math.max(MIN_THROTTLE, Math.round(n)));
}

export function courtesyKey(hosts: string): string {
  return rememberedKey('courtesy', hosts);
}

/** The remembered settings, or undefined when the visitor never changed them. */
export function recallCourtesy(hosts: string): CourtesySettings | undefined {
  const raw = recallJson(courtesyKey(hosts));
  if (!raw) return undefined;
  return {
    throttle: clampThrottle(raw['throttle']),
    onlyWhenIdle: raw['onlyWhenIdle'] === true,
    pauseOnBattery: raw['pauseOnBattery'] === true,
  };
}

export function rememberCourtesy(hosts: string, settings: CourtesySettings): void {
  remember(courtesyKey(hosts), JSON.stringify(settings));
}
