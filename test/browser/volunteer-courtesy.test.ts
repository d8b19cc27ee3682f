import { afterEach, describe, expect, it } from 'vitest';
import '../../src/ui/tabgrid-volunteer';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';
import { until as untilWithin } from '../helpers/until';

const until = (predicate: () => boolean, timeoutMs = 10_000) => untilWithin(predicate, timeoutMs, 20);

// Nothing listens on port 9: sessions fail to connect and retry, which is enough to see them
// started, paused and resumed; the e2e specs run against a real host.
const UNREACHABLE = { signal: 'ws://127.0.0.1:9/', host: 'courtesy-test' };

function mount(attrs: Record<string, string> = {}): TabgridVolunteer {
  const el = document.createElement('tabgrid-volunteer');
  for (const [k, v] of Object.entries({ ...UNREACHABLE, ...attrs })) el.setAttribute(k, v);
  document.body.append(el);
  return el;
}

const shadow = (el: TabgridVolunteer) => el.shadowRoot!;
const primary = (el: TabgridVolunteer) => shadow(el).querySelector<HTMLButtonElement>('button.primary')!;
const field = (el: TabgridVolunteer, name: string) => shadow(el).querySelector(`[data-field="${name}"]`)?.textContent?.trim() ?? '';
const control = (el: TabgridVolunteer, name: string) => shadow(el).querySelector<HTMLInputElement>(`[data-control="${name}"]`)!;
const sessions = (el: TabgridVolunteer) => (el as unknown as { work: { sessions: { state: string }[] } }).work.sessions;

let visibility: DocumentVisibilityState = 'visible';
Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });
function setVisibility(v: DocumentVisibilityState): void {
  visibility = v;
  document.dispatchEvent(new Event('visibilitychange'));
}

afterEach(() => {
  document.body.replaceChildren();
  localStorage.clear();
  visibility = 'visible';
});

describe('consent', () => {
  it('says what runs and for whom before anything runs', async () => {
    const el = mount();
    await el.updateComplete;
    const what = shadow(el).querySelector('[part="consent"]')!.textContent!;
    expect(what).toMatch(/courtesy-test/);
    expect(what).toMatch(/SHA-256 hashing.*matrix products.*proof-of-work/);
    expect(el.consentState).toBe('unasked');
    expect(el.state).toBe('idle');
  });

  it('remembers Start per origin and host: a returning visitor resumes without a click', async () => {
    const first = mount();
    await first.updateComplete;
    primary(first).click();
    expect(localStorage.getItem('tabgrid:consent:courtesy-test')).toBe('started');
    first.remove();
    const again = mount();
    await until(() => again.state !== 'idle');
    expect(again.consentState).toBe('started');
    await again.updateComplete;
    expect(primary(again).textContent!.trim()).toBe('Pause');
    // Another host's widget on the same origin was never started.
    const other = mount({ host: 'someone-else' });
    await other.updateComplete;
    await new Promise((r) => setTimeout(r, 200));
    expect(other.state).toBe('idle');
  });

  it('remembers Pause: a returning visitor who paused stays paused, and Pause is one click', async () => {
    const el = mount();
    await el.updateComplete;
    primary(el).click();
    await until(() => el.state !== 'idle');
    primary(el).click();
    expect(el.consentState).toBe('paused');
    expect(localStorage.getItem('tabgrid:consent:courtesy-test')).toBe('paused');
    el.remove();
    const again = mount();
    await again.updateComplete;
    await new Promise((r) => setTimeout(r, 300));
    expect(again.state).toBe('idle');
    expect(sessions(again)).toHaveLength(0);
    expect(field(again, 'status')).toMatch(/Paused, as you chose/);
  });
});

describe('throttle', () => {
  it('takes the attribute as the default, clamps it to 10–100 %, and shows it', async () => {
    const el = mount({ throttle: '40' });
    await el.updateComplete;
    expect(el.throttle).toBe(40);
    expect(field(el, 'throttle')).toBe('40 %');
    el.throttle = 5;
    await el.updateComplete;
    expect(el.throttle).toBe(10);
    expect(shadow(el).querySelector<HTMLInputElement>('#throttle')!.value).toBe('10');
  });

  it("remembers the visitor's choice from the slider, which wins over the attribute next time", async () => {
    const el = mount({ throttle: '80' });
    await el.updateComplete;
    const slider = shadow(el).querySelector<HTMLInputElement>('#throttle')!;
    slider.value = '30';
    slider.dispatchEvent(new Event('input'));
    await el.updateComplete;
    expect(el.throttle).toBe(30);
    expect(JSON.parse(localStorage.getItem('tabgrid:courtesy:courtesy-test')!)).toMatchObject({ throttle: 30 });
    el.remove();
    const again = mount({ throttle: '80' });
    await again.updateComplete;
    expect(again.throttle).toBe(30);
  });
});

describe('only when hidden or idle', () => {
  it('rests while the visitor uses the visible page, runs when hidden or idle, and keeps the setting', async () => {
    const el = mount({ 'idle-seconds': '1' });
    await el.updateComplete;
    control(el, 'idle').click();
    expect(JSON.parse(localStorage.getItem('tabgrid:courtesy:courtesy-test')!)).toMatchObject({ onlyWhenIdle: true });
    primary(el).click(); // the click itself is input: the page is in use
    await until(() => el.state === 'resting');
    await el.updateComplete;
    expect(field(el, 'status')).toMatch(/Resting: you are using this page/);
    expect(sessions(el).every((s) => s.state !== 'running')).toBe(true);
    // No input for a second: the sessions start (and fail to connect here, which is fine).
    await until(() => el.state !== 'resting', 3000);
    expect(sessions(el).some((s) => s.state === 'running' || s.state === 'error')).toBe(true);
    // Input again: back to resting at once, sessions paused.
    window.dispatchEvent(new Event('pointermove'));
    expect(el.state).toBe('resting');
    expect(sessions(el).every((s) => s.state === 'paused')).toBe(true);
    // Hidden tab: runs even though input was just now.
    setVisibility('hidden');
    expect(el.state).not.toBe('resting');
    expect(sessions(el).some((s) => s.state === 'running' || s.state === 'error')).toBe(true);
    setVisibility('visible');
    window.dispatchEvent(new Event('keydown'));
    expect(el.state).toBe('resting');
    // Unticking the option lets it run at once.
    control(el, 'idle').click();
    expect(el.state).not.toBe('resting');
  });

  it('pauses on battery and runs again when plugged in, where the Battery API exists', async () => {
    const battery = Object.assign(new EventTarget(), { charging: false });
    Object.defineProperty(navigator, 'getBattery', { configurable: true, value: async () => battery });
    try {
      const el = mount();
      await el.updateComplete;
      control(el, 'battery').click();
      primary(el).click();
      await until(() => el.state === 'resting');
      await el.updateComplete;
      expect(field(el, 'hold')).toMatch(/on battery/);
      battery.charging = true;
      battery.dispatchEvent(new Event('chargingchange'));
      expect(el.state).not.toBe('resting');
      expect(sessions(el).some((s) => s.state === 'running' || s.state === 'error')).toBe(true);
    } finally {
      // The stub is an own property: deleting it uncovers the browser's own, if any.
      delete (navigator as unknown as Record<string, unknown>)['getBattery'];
    }
  });

  it('shows the battery option only where the Battery API exists', async () => {
    const el = mount();
    await el.updateComplete;
    const has = typeof (navigator as { getBattery?: unknown }).getBattery === 'function';
    expect(shadow(el).querySelector('[data-control="battery"]') !== null).toBe(has);
  });
});

describe('accessibility basics', () => {
  it('labels every control and announces the status politely', async () => {
    const el = mount();
    await el.updateComplete;
    const live = shadow(el).querySelector('[aria-live]')!;
    expect(live.getAttribute('aria-live')).toBe('polite');
    expect(live.getAttribute('role')).toBe('status');
    for (const input of shadow(el).querySelectorAll('input')) {
      const labelled = input.id ? shadow(el).querySelector(`label[for="${input.id}"]`) : input.closest('label');
      expect(labelled, `input ${input.outerHTML} has a label`).not.toBeNull();
    }
    for (const b of shadow(el).querySelectorAll('button')) expect(b.textContent!.trim()).not.toBe('');
    expect(shadow(el).querySelector('svg[role="img"]')!.getAttribute('aria-label')).toMatch(/Throughput/);
  });
});
