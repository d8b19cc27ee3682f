import { afterEach, describe, expect, it } from 'vitest';
import '../../src/dashboard/job-form';
import { JOB_SUBMIT, type JobForm, type JobSubmitEvent } from '../../src/dashboard/job-form';
import type { JobSpec } from '../../src/host/job';

async function mount(): Promise<{ el: JobForm; submitted: JobSpec[] }> {
  const el = document.createElement('tg-job-form');
  const submitted: JobSpec[] = [];
  el.addEventListener(JOB_SUBMIT, (e) => submitted.push((e as JobSubmitEvent).detail.spec!));
  document.body.append(el);
  await el.updateComplete;
  return { el, submitted };
}
const q = <T extends Element>(el: JobForm, sel: string) => el.shadowRoot!.querySelector<T>(sel);

async function type(el: JobForm, field: string, value: string): Promise<void> {
  const input = q<HTMLInputElement>(el, `#f-${field}`)!;
  input.value = value;
  input.dispatchEvent(new Event('input'));
  await el.updateComplete;
}
async function choose(el: JobForm, id: string, value: string): Promise<void> {
  const select = q<HTMLSelectElement>(el, `#${id}`)!;
  select.value = value;
  select.dispatchEvent(new Event('change'));
  await el.updateComplete;
}
async function submit(el: JobForm): Promise<void> {
  q<HTMLButtonElement>(el, 'button[type="submit"]')!.click();
  await el.updateComplete;
}

afterEach(() => document.body.replaceChildren());

describe('<tg-job-form>', () => {
  it('labels every control and submits a hashing job', async () => {
    const { el, submitted } = await mount();
    for (const control of el.shadowRoot!.querySelectorAll('input, select')) {
      expect(q(el, `label[for="${control.id}"]`), control.id).not.toBeNull();
    }
    await type(el, 'id', 'hash-1');
    await type(el, 'units', '3');
    await type(el, 'samples', '8');
    await submit(el);
    expect(submitted).toEqual([
      { id: 'hash-1', kernel: 'sha256-batch', units: 3, seed: 1, messagesPerUnit: 4096, messageLength: 64, samples: 8, collect: true },
    ]);
  });

  it('offers "Keep the output" with its cost for hashing and matrices, not for proof of work', async () => {
    const { el, submitted } = await mount();
    const box = q<HTMLInputElement>(el, '#f-collect')!;
    expect(box.checked).toBe(true);
    expect(q(el, 'label[for="f-collect"]')!.textContent).toMatch(/^Keep the output/);
    expect(box.getAttribute('aria-describedby')).toBe('h-collect');
    expect(q(el, '#h-collect')!.textContent).toMatch(/uploads a unit's output once more .*up to 4 MiB a unit.* IndexedDB/s);
    await type(el, 'units', '10');
    expect(q(el, '[data-field="collect-size"]')!.textContent).toBe('128 KiB a unit, 1.3 MiB for the job');
    box.click();
    await el.updateComplete;
    expect(q(el, '#h-collect')!.textContent).toMatch(/Off: the host keeps only Merkle roots/);
    await submit(el);
    expect(submitted[0]).not.toHaveProperty('collect');
    await choose(el, 'f-kernel', 'matmul-f32');
    expect(q(el, '[data-field="collect-size"]')!.textContent).toBe('256 KiB a unit, 2.5 MiB for the job');
    await choose(el, 'f-kernel', 'sha256d-pow');
    expect(q(el, '#f-collect')).toBeNull();
  });

  it('shows the fields of the chosen kernel and verification policy', async () => {
    const { el, submitted } = await mount();
    await choose(el, 'f-kernel', 'matmul-modp');
    expect(q(el, '#f-messagesPerUnit')).toBeNull();
    expect(q(el, '#f-p')).not.toBeNull();
    expect(q(el, '#f-samples')).not.toBeNull();
    await choose(el, 'f-verify', 'freivalds');
    expect(q(el, '#f-samples')).toBeNull();
    await type(el, 'rounds', '3');
    q<HTMLInputElement>(el, '#f-trust')!.click();
    await el.updateComplete;
    await type(el, 'banAfter', '2');
    await submit(el);
    expect(submitted[0]).toMatchObject({ kernel: 'matmul-modp', p: 65521, verify: { policy: 'freivalds', rounds: 3 }, trust: { banAfter: 2 } });
    expect(submitted[0]).not.toHaveProperty('samples');
  });

  it('puts an error next to its field, marks it invalid, focuses it, and clears it when edited', async () => {
    const { el, submitted } = await mount();
    await type(el, 'units', '0');
    await submit(el);
    await new Promise((r) => setTimeout(r, 0));
    expect(submitted).toEqual([]);
    const units = q<HTMLInputElement>(el, '#f-units')!;
    expect(units.getAttribute('aria-invalid')).toBe('true');
    expect(units.getAttribute('aria-describedby')).toBe('e-units');
    expect(q(el, '#e-units')!.textContent).toBe('units must be an integer in 1..1000000');
    expect(el.shadowRoot!.activeElement).toBe(units);
    await type(el, 'units', '2');
    expect(q(el, '#e-units')).toBeNull();
  });

  it('creates a job from a file, and explains a bad file next to the file field', async () => {
    const { el, submitted } = await mount();
    const input = q<HTMLInputElement>(el, '#f-file')!;
    const upload = async (text: string) => {
      const files = new DataTransfer();
      files.items.add(new File([text], 'job.json', { type: 'application/json' }));
      input.files = files.files;
      input.dispatchEvent(new Event('change'));
      await new Promise((r) => setTimeout(r, 50));
      await el.updateComplete;
    };
    await upload('{"id":"f","kernel":"sha256-batch","units":2,"messagesPerUnit":8,"messageLength":64,"seed":1,"samples":4,"input":[1,2]}');
    expect(submitted).toEqual([]);
    expect(q(el, '#e-file')!.textContent).toMatch(/unknown field 'input'/);
    expect(input.getAttribute('aria-describedby')).toBe('e-file');
    await upload('{"id":"f","kernel":"sha256d-pow","units":2,"seed":1,"noncesPerUnit":65536,"shareBits":12,"targetBits":20}');
    expect(submitted).toEqual([{ id: 'f', kernel: 'sha256d-pow', units: 2, seed: 1, noncesPerUnit: 65536, shareBits: 12, targetBits: 20 }]);
    expect(q(el, '#e-file')).toBeNull();
  });

  it('says a job reads seeded inputs or your own data', async () => {
    const { el } = await mount();
    expect(el.shadowRoot!.textContent).toMatch(/inputs are generated from its seed, or are your own data/);
    expect(el.shadowRoot!.textContent).not.toMatch(/not supported/);
  });

  it('with your own data, shows the file inputs the kernel reads and fires the request with the Files', async () => {
    const el = document.createElement('tg-job-form');
    const details: JobSubmitEvent['detail'][] = [];
    el.addEventListener(JOB_SUBMIT, (e) => details.push((e as JobSubmitEvent).detail));
    document.body.append(el);
    await el.updateComplete;
    const pick = async (field: string, ...files: File[]) => {
      const input = q<HTMLInputElement>(el, `#f-file-${field}`)!;
      const list = new DataTransfer();
      for (const f of files) list.items.add(f);
      input.files = list.files;
      input.dispatchEvent(new Event('change'));
      await el.updateComplete;
    };
    // Hashing: a records file and its format; the message length and units are the file's.
    await choose(el, 'f-source', 'files');
    expect(q(el, '#f-units')).toBeNull();
    expect(q(el, '#f-messageLength')).toBeNull();
    expect(q(el, '#f-messagesPerUnit')).not.toBeNull();
    for (const control of el.shadowRoot!.querySelectorAll('input, select')) expect(q(el, `label[for="${control.id}"]`), control.id).not.toBeNull();
    await submit(el);
    expect(details).toEqual([]);
    expect(q(el, '#e-file-records')!.textContent).toBe('choose the records file (or folder)');
    await choose(el, 'f-recordsFormat', 'fixed');
    await type(el, 'recordBytes', '8');
    const records = new File(['0123456789abcdef'], 'records.bin');
    await pick('records', records);
    await type(el, 'id', 'mine');
    await submit(el);
    expect(details).toEqual([
      { request: { id: 'mine', kernel: 'sha256-batch', messagesPerUnit: 4096, samples: 16, collect: true, records, format: { fixed: 8 } } },
    ]);
    // A folder: every file one record.
    await choose(el, 'f-recordsFormat', 'directory');
    expect(q(el, 'label[for="f-file-records"]')!.textContent).toBe('Records (a folder)');
    expect(q<HTMLInputElement>(el, '#f-file-records')!.multiple).toBe(true);
    // Proof of work: a headers file and units per header.
    await choose(el, 'f-kernel', 'sha256d-pow');
    expect(q(el, '#f-file-records')).toBeNull();
    const headers = new File(['00'.repeat(80)], 'headers.txt');
    await pick('headers', headers);
    await type(el, 'unitsPerHeader', '4');
    await submit(el);
    expect(details[1]).toEqual({
      request: { id: 'mine', kernel: 'sha256d-pow', noncesPerUnit: 1048576, shareBits: 14, targetBits: 24, headers, unitsPerHeader: 4 },
    });
    // matmul-i8 has no inputs of its own: no source to choose.
    await choose(el, 'f-kernel', 'matmul-i8');
    expect(q(el, '#f-source')).toBeNull();
    expect(q(el, '#f-units')).not.toBeNull();
  });

  it("shows the host's ingestion error beside the file it names", async () => {
    const { el } = await mount();
    await choose(el, 'f-kernel', 'matmul-f32');
    await choose(el, 'f-source', 'files');
    const input = q<HTMLInputElement>(el, '#f-file-b')!;
    const list = new DataTransfer();
    list.items.add(new File(['x'], 'B.npy'));
    input.files = list.files;
    input.dispatchEvent(new Event('change'));
    el.submitError = 'B.npy: not a .npy file (it does not start with \\x93NUMPY)';
    await el.updateComplete;
    expect(q(el, '#e-file-b')!.textContent).toMatch(/^B\.npy: not a \.npy file/);
    expect(input.getAttribute('aria-invalid')).toBe('true');
    expect(q(el, '[data-field="submit-error"]')).toBeNull();
    // An error about no one file stays under the form.
    el.submitError = 'The job host is not running, so it cannot take a job.';
    await el.updateComplete;
    expect(q(el, '#e-file-b')).toBeNull();
    expect(q(el, '[data-field="submit-error"]')!.textContent).toMatch(/not running/);
  });
});
