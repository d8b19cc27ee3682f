import { recall, remember, rememberedKey } from '../remembered';
import { DEFAULT_UPLOAD_MBPS, MAX_UPLOAD_MBPS } from '../volunteer/upload-share';

/*
 * The visitor's upload share for the swarm (issue 18): "share inputs with other volunteers: up
 * to N MB/s", kept per origin and host list beside the courtesy settings. The page sets the
 * most it offers (the element's `upload-mbps`, default DEFAULT_UPLOAD_MBPS); the visitor may
 * lower it, to 0 for none.
 */

/** The control's step, MB/s. */
export const UPLOAD_STEP_MBPS = 0.5;

export function uploadShareKey(hosts: string): string {
  return rememberedKey('upload-share', hosts);
}

/** A share the control offers: a multiple of the step within 0..max; anything else is `fallback`. */
export function clampUploadShare(mbps: unknown, max = DEFAULT_UPLOAD_MBPS, fallback = max): number {
  const n = typeof mbps === 'string' && mbps.trim() !== '' ? Number(mbps) : mbps;
  if (typeof n !== 'number' || !Number.isFinite(n)) return fallback;
  const top = Math.min(Math.max(0, max), MAX_UPLOAD_MBPS);
  return Math.min(top, Math.max(0, Math.round(n / UPLOAD_STEP_MBPS) * UPLOAD_STEP_MBPS));
}

/** The remembered share, or undefined when the visitor never changed it. */
export function recallUploadShare(hosts: string, max: number): number | undefined {
  const raw = recall(uploadShareKey(hosts));
  return raw === undefined ? undefined : clampUploadShare(raw, max);
}

export function rememberUploadShare(hosts: string, mbps: number): void {
  remember(uploadShareKey(hosts), String(mbps));
}
