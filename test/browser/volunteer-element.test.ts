import { afterEach, describe, expect, it } from 'vitest';
import '../../src/ui/tabgrid-volunteer';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';
import { until as untilWithin } from '../helpers/until';

const until = (predicate: () => boolean, timeoutMs = 20_000) => untilWithin(predicate, timeoutMs, 20);

function mount(attrs: Record<string, string> = {}): TabgridVolunteer {
  const el = document.createElement('tabgrid-volunteer');
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  document.body.append(el);
  return el;
}

function button(el: TabgridVolunteer): HTMLButtonElement {
  return el.shadowRoot!.querySelector('button')!;
}

function field(el: TabgridVolunteer, name: string): string {
  return el.shadowRoot!.querySelector(`[data-field="${name}"]`)!.textContent!.trim();
}

afterEach(() => {
  document.body.replaceChildren();
  localStorage.clear();
});

describe('<tabgrid-volunteer>', () => {
  it('starts idle, with a Start button, and touches nothing before the click', async () => {
    const created: string[] = [];
    const RealWorker = window.Worker;
    window.Worker = class extends RealWorker {
      constructor(url: string | URL, options?: WorkerOptions) {
        super(url, options);
        created.push(String(url));
      }
    };
    try {
      const el = mount();
      await el.updateComplete;
      expect(el.state).toBe('idle');
      expect(el.unitsDone).toBe(0);
      expect(el.credit).toBe(0);
      expect(button(el).textContent!.trim()).toBe('Start');
      expect(field(el, 'adapter')).toBe('not started');
      await new Promise((r) => setTimeout(r, 200));
      expect(created).toEqual([]);
    } finally {
      window.Worker = RealWorker;
    }
  });

  it('has read-only state, unitsDone and credit', async () => {
    const el = mount();
    await el.updateComplete;
    expect(() => {
      (el as unknown as { state: string }).state = 'running';
    }).toThrow(TypeError);
    expect(el.state).toBe('idle');
  });

  it('shows the adapter after Start, and a clear error when the host cannot be reached', async () => {
    // Nothing listens on port 9: signaling fails at once.
    const el = mount({ signal: 'ws://127.0.0.1:9/', host: 'nobody' });
    await el.updateComplete;
    button(el).click();
    await until(() => el.state !== 'idle');
    await until(() => el.state === 'error');
    await el.updateComplete;
    // The error reads once, in words, in an alert (issue 20, bug 7: it was shown twice and read "Error (server-error)"; issue 19: what failed).
    expect(field(el, 'connect-problem')).toBe('Cannot reach the signaling server (ws://127.0.0.1:9/): it may be down, or the address is wrong.');
    expect(el.shadowRoot!.querySelector('[data-field="connect-problem"]')!.getAttribute('role')).toBe('alert');
    expect(field(el, 'status')).toMatch(/^disconnected; retrying in \d+ s$/);
    expect(el.shadowRoot!.textContent!.split('Cannot reach the signaling server').length - 1).toBe(1);
    // Consent stands (the session retries by itself); Pause withdraws it, Retry tries now.
    expect(button(el).textContent!.trim()).toBe('Pause');
    expect(el.shadowRoot!.querySelector('[data-action="retry"]')).not.toBeNull();
    await until(() => field(el, 'adapter') !== 'detecting…');
    expect(field(el, 'adapter')).toMatch(/WebGPU|CPU/);
  });

  it('refuses a malformed signal URL with an error state, not a crash', async () => {
    const el = mount({ signal: 'not a url' });
    await el.updateComplete;
    button(el).click();
    await until(() => el.state === 'error');
    await el.updateComplete;
    expect(field(el, 'status')).toMatch(/not a URL/);
  });
});
