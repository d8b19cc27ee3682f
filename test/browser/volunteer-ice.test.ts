import { afterEach, describe, expect, it } from 'vitest';
import '../../src/ui/tabgrid-volunteer';
import type { TabgridVolunteer } from '../../src/ui/tabgrid-volunteer';
import { until } from '../helpers/until';
import { resolveIce } from '../../src/dashboard/settings';

function mount(attrs: Record<string, string>, script?: string): TabgridVolunteer {
  const el = document.createElement('tabgrid-volunteer');
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (script !== undefined) {
    const s = document.createElement('script');
    s.type = 'application/json';
    s.dataset.tabgridIce = '';
    s.textContent = script;
    el.append(s);
  }
  document.body.append(el);
  return el;
}

const field = (el: TabgridVolunteer, name: string) => el.shadowRoot!.querySelector(`[data-field="${name}"]`)?.textContent?.trim() ?? '';

afterEach(() => {
  document.body.replaceChildren();
  localStorage.clear();
});

describe('<tabgrid-volunteer ice="…">', () => {
  it('refuses a bad ice attribute with the field named, and starts nothing', async () => {
    const el = mount({ signal: 'ws://127.0.0.1:9/', host: 'nobody', ice: '{"iceServers": [{"urls": "https://turn.example.org"}]}' });
    await el.updateComplete;
    expect(el.state).toBe('error');
    expect(field(el, 'error')).toMatch(/^Cannot start: the ice attribute: iceServers\[0\]\.urls must be a stun:, turn: or turns: URL/);
    el.shadowRoot!.querySelector('button')!.click();
    await new Promise((r) => setTimeout(r, 200));
    expect(el.icePaths).toEqual([]);
  });

  it('reads a JSON <script> config, and refuses a TURN server without credentials', async () => {
    const el = mount({ signal: 'ws://127.0.0.1:9/', host: 'nobody' }, '{"iceServers": [{"urls": "turn:turn.example.org:3478"}]}');
    await el.updateComplete;
    expect(field(el, 'error')).toMatch(/^Cannot start: the ice <script>: iceServers\[0\] a TURN server needs a username and a credential/);
  });

  it('refuses an ice-url that is not https (TURN credentials travel in it), and starts nothing', async () => {
    const el = mount({ signal: 'ws://127.0.0.1:9/', host: 'nobody', 'ice-url': 'http://signal.example.org/ice' });
    await el.updateComplete;
    expect(el.state).toBe('error');
    expect(field(el, 'error')).toMatch(/^Cannot start: the ice-url setting http:\/\/signal\.example\.org\/ice must be https:\/\//);
  });

  it('an ice-url it cannot read does not stop it: it goes on to connect (here, to a signaling server that is not there, which its alert says)', async () => {
    // Port 9 answers nothing: reading the servers fails, and the connection is tried anyway.
    const el = mount({ signal: 'ws://127.0.0.1:9/', host: 'nobody', 'ice-url': 'http://127.0.0.1:9/ice', backend: 'cpu' });
    await el.updateComplete;
    el.shadowRoot!.querySelector('button')!.click();
    const alert = () => el.shadowRoot!.querySelector('[role="alert"]');
    await until(() => alert() !== null, 20_000, 20);
    expect(alert()!.textContent).toMatch(/^Cannot reach the signaling server/);
  });

  it('without a signaling server, says so once in an alert that stays through the retries', async () => {
    const el = mount({ signal: 'ws://127.0.0.1:9/', host: 'nobody', ice: '[{"urls": "stun:127.0.0.1:9"}]', backend: 'cpu' });
    await el.updateComplete;
    el.shadowRoot!.querySelector('button')!.click();
    const alert = () => el.shadowRoot!.querySelector('[role="alert"]');
    await until(() => alert() !== null, 20_000, 20);
    const first = alert()!;
    expect(first.textContent).toMatch(/^Cannot reach the signaling server \(ws:\/\/127\.0\.0\.1:9\/\): it may be down, or the address is wrong\./);
    expect(el.shadowRoot!.querySelectorAll('[role="alert"]')).toHaveLength(1);
    // A second failed attempt (backoff ≈ 1 s) leaves the same node and words: nothing new to announce.
    const text = first.textContent;
    await until(() => /reconnecting|retrying/.test(field(el, 'status')), 10_000, 20);
    await new Promise((r) => setTimeout(r, 2500));
    expect(alert()).toBe(first);
    expect(alert()!.textContent).toBe(text);
    expect(field(el, 'connection')).not.toMatch(/^connected/);
  });
});

describe("the dashboard's ice setting (settings.ts resolveIce)", () => {
  it('reads the attribute, else the JSON <script>, else ?ice=, and names the source of a bad one', () => {
    const el = document.createElement('tabgrid-dashboard-test');
    expect(resolveIce(el, '')).toBeUndefined();
    expect(resolveIce(el, `?ice=${encodeURIComponent('[{"urls":"stun:q.example:3478"}]')}`)).toEqual({ iceServers: [{ urls: 'stun:q.example:3478' }] });
    const script = document.createElement('script');
    script.type = 'application/json';
    script.dataset.tabgridIce = '';
    script.textContent = '{"iceServers": [], "iceTransportPolicy": "relay"}';
    el.append(script);
    expect(resolveIce(el, '?ice=[]')).toEqual({ iceServers: [], iceTransportPolicy: 'relay' });
    el.setAttribute('ice', '{"iceServers": "stun:x"}');
    expect(() => resolveIce(el, '')).toThrow(/^the ice attribute: iceServers must be an array/);
  });
});
