import { afterEach, describe, expect, it } from 'vitest';
import { JOB_ACTION, type JobActionEvent, type JobsOverview } from '../../src/dashboard/jobs-overview';
import '../../src/dashboard/jobs-overview';
import { JobState, type JobRow } from '../../src/dashboard/job-overview';

afterEach(() => document.body.replaceChildren());

const row = (id: string, state: JobState, accepted: number, total = 10): JobRow => ({
  id,
  kernel: 'sha256-batch',
  state,
  total,
  accepted,
  inFlight: 0,
  perMinute: state === JobState.Running ? 1234.5 : null,
  etaMs: state === JobState.Running ? 90_000 : null,
});

async function mount(rows: readonly JobRow[], actions = true): Promise<{ el: JobsOverview; asked: JobActionEvent['detail'][] }> {
  const el = document.createElement('tg-jobs-overview');
  Object.assign(el, { rows, actions });
  const asked: JobActionEvent['detail'][] = [];
  document.body.addEventListener(JOB_ACTION, (e) => asked.push(e.detail));
  document.body.append(el);
  await el.updateComplete;
  return { el, asked };
}

const button = (el: JobsOverview, name: string) =>
  [...el.shadowRoot!.querySelectorAll('button')].find((b) => (b.getAttribute('aria-label') ?? b.textContent!.trim()) === name)!;
const cell = (el: JobsOverview, id: string, field: string) => el.shadowRoot!.querySelector(`tr[data-job="${id}"] [data-field="${field}"]`)!.textContent!.trim();

describe('<tg-jobs-overview>', () => {
  it('shows each job with its progress, rate and time left, and the buttons its state allows', async () => {
    const { el } = await mount([row('r', JobState.Running, 3), row('p', JobState.Paused, 1), row('d', JobState.Done, 10, 10)]);
    expect(cell(el, 'r', 'progress')).toBe('3 / 10');
    expect(cell(el, 'r', 'rate')).toBe('1,235 units/min');
    expect(cell(el, 'r', 'eta')).toBe('about 2 min');
    expect(cell(el, 'p', 'rate')).toBe('—');
    expect(cell(el, 'd', 'eta')).toBe('done');
    expect(button(el, 'Pause job r')).toBeDefined();
    expect(button(el, 'Resume job p')).toBeDefined();
    expect(button(el, 'Delete job d')).toBeDefined();
    expect(button(el, 'Delete job r')).toBeUndefined();
    // A watched host's overview has no buttons.
    document.body.replaceChildren();
    const watched = await mount([row('r', JobState.Running, 3)], false);
    expect(watched.el.shadowRoot!.querySelectorAll('button')).toHaveLength(0);
  });

  it('asks before cancelling or deleting, with focus on the answer; "Keep it" asks nothing; pause goes at once', async () => {
    const { el, asked } = await mount([row('r', JobState.Running, 3), row('d', JobState.Done, 10, 10)]);
    button(el, 'Pause job r').click();
    expect(asked).toEqual([{ jobId: 'r', action: 'pause' }]);
    button(el, 'Delete job d').click();
    await el.updateComplete;
    expect(asked).toHaveLength(1);
    const group = el.shadowRoot!.querySelector('[role="group"]')!;
    expect(group.getAttribute('aria-label')).toBe('Confirm: delete d');
    expect(group.textContent).toContain('cannot be undone');
    expect(el.shadowRoot!.activeElement?.textContent?.trim()).toBe('Delete');
    button(el, 'Keep it').click();
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[role="group"]')).toBeNull();
    button(el, 'Cancel job r').click();
    await el.updateComplete;
    expect(el.shadowRoot!.querySelector('[role="group"]')!.textContent).toContain('Its 7 remaining units will not be computed');
    button(el, 'Cancel job').click();
    expect(asked).toEqual([
      { jobId: 'r', action: 'pause' },
      { jobId: 'r', action: 'cancel' },
    ]);
  });

  it('announces a job that finishes while the page is open, not one done before', async () => {
    const { el } = await mount([row('old', JobState.Done, 10, 10), row('r', JobState.Running, 9)]);
    const notice = () => el.shadowRoot!.querySelector('[data-field="job-notice"]')!;
    expect(notice().getAttribute('role')).toBe('status');
    expect(notice().textContent).toBe('');
    el.rows = [row('old', JobState.Done, 10, 10), row('r', JobState.Done, 10)];
    await el.updateComplete;
    expect(notice().textContent).toBe('Job r is done: all 10 units accepted.');
  });
});
