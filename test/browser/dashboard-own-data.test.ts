import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import '../../src/dashboard/dashboard-app';
import { HostStatus, type TabgridDashboard } from '../../src/dashboard/dashboard-app';
import type { Downloads } from '../../src/dashboard/downloads';
import { encodeNpy, NpyDtype, parseNpy } from '../../src/data/npy';
import { createCpuSha256, type Hasher } from '../../src/hash/sha256-cpu';
import { HostCore } from '../../src/host/host-core';
import { MemoryHostStore } from '../../src/host/store/memory-store';
import { honest, submit, volunteer } from '../helpers/judged';
import { exactMatrix, npyFile, product } from '../helpers/npy-file';
import { newIdentity } from '../helpers/signing';
import { until as untilWithin } from '../helpers/until';

const until = (predicate: () => boolean | Promise<boolean>, timeoutMs = 10_000) => untilWithin(predicate, timeoutMs, 20);

let hash: Hasher;
beforeAll(async () => {
  hash = await createCpuSha256();
});
afterEach(() => {
  vi.restoreAllMocks();
  document.body.replaceChildren();
});

/** The dashboard over an in-memory host that keeps datasets (as the page host does in IndexedDB). */
async function mount(): Promise<{ el: TabgridDashboard; core: () => HostCore; store: MemoryHostStore }> {
  const el = document.createElement('tabgrid-dashboard');
  const store = new MemoryHostStore();
  let core: HostCore | undefined;
  el.settings = { signalUrl: 'ws://127.0.0.1:1/', hostId: 'own-data' };
  el.startHost = async (s, hooks) => {
    core = await HostCore.open(store, [], { hostId: s.hostId, hash, identity: await newIdentity(), onVerdict: hooks.onVerdict });
    return { core, store, hash, close: async () => undefined };
  };
  document.body.append(el);
  await until(() => el.status !== HostStatus.Starting);
  return { el, core: () => core!, store };
}

describe('<tabgrid-dashboard> with your own data', () => {
  it('takes A and B as .npy files from the form, names a bad file beside its input and stores nothing, then runs a tiled job and offers C.npy', async () => {
    const { el, core, store } = await mount();
    const form = el.shadowRoot!.querySelector('tg-job-form')!;
    const q = <T extends Element>(sel: string) => form.shadowRoot!.querySelector<T>(sel);
    const settle = () => (form as HTMLElement & { updateComplete: Promise<unknown> }).updateComplete;
    const choose = async (id: string, value: string) => {
      const select = q<HTMLSelectElement>(`#${id}`)!;
      select.value = value;
      select.dispatchEvent(new Event('change'));
      await settle();
    };
    const type = async (id: string, value: string) => {
      const input = q<HTMLInputElement>(`#${id}`)!;
      input.value = value;
      input.dispatchEvent(new Event('input'));
      await settle();
    };
    const pick = async (field: string, file: File) => {
      const input = q<HTMLInputElement>(`#f-file-${field}`)!;
      const files = new DataTransfer();
      files.items.add(file);
      input.files = files.files;
      input.dispatchEvent(new Event('change'));
      await settle();
    };
    await choose('f-kernel', 'matmul-f32');
    expect(q('#f-file-a')).toBeNull();
    await choose('f-source', 'files');
    // The files decide the units and sizes; the policy stays the researcher's.
    for (const hidden of ['units', 'seed', 'm', 'n', 'k']) expect(q(`#f-${hidden}`), hidden).toBeNull();
    expect(q('#f-verify')).not.toBeNull();
    expect(q('label[for="f-file-a"]')!.textContent).toBe('A (.npy)');
    await type('f-id', 'mine');
    await choose('f-verify', 'freivalds');

    const [rows, inner, cols] = [9, 5, 6];
    const a = exactMatrix(rows, inner, 1);
    const b = exactMatrix(inner, cols, 2);
    await pick('a', npyFile('A.npy', [rows, inner], a));
    // B with the wrong number of rows: read, refused, named.
    await pick('b', npyFile('B.npy', [inner + 1, cols], exactMatrix(inner + 1, cols, 2)));
    q<HTMLButtonElement>('button[type="submit"]')!.click();
    await until(() => q('#e-file-a') !== null);
    expect(q('#e-file-a')!.textContent).toBe("A.npy is 9×5 and B.npy is 6×6: A's columns must equal B's rows");
    expect(q('#f-file-a')!.getAttribute('aria-invalid')).toBe('true');
    expect(await store.datasetRoots()).toEqual([]);
    expect(core().jobs()).toEqual([]);
    // A truncated B: its own error, beside B.
    const cut = encodeNpy(NpyDtype.Float32, [inner, cols], new Uint8Array(b.buffer)).subarray(0, 140);
    await pick('b', new File([cut as Uint8Array<ArrayBuffer>], 'B.npy'));
    expect(q('#e-file-a')).toBeNull();
    q<HTMLButtonElement>('button[type="submit"]')!.click();
    await until(() => q('#e-file-b') !== null);
    expect(q('#e-file-b')!.textContent).toMatch(/^B\.npy: /);
    expect(await store.datasetRoots()).toEqual([]);

    await pick('b', npyFile('B.npy', [inner, cols], b));
    q<HTMLButtonElement>('button[type="submit"]')!.click();
    await until(() => core().jobs().length === 1);
    const spec = core().jobs()[0]!;
    expect(spec).toMatchObject({ id: 'mine', kernel: 'matmul-f32', k: inner, verify: { policy: 'freivalds' }, collect: true, data: { rows, cols, inner } });
    const roots = await store.datasetRoots();
    expect(roots.length).toBeGreaterThanOrEqual(2);

    // The units read the datasets just stored: A's bands and B's panels.
    const v = await volunteer(core(), 'v1');
    for (let i = 0; i < spec.units; i++) {
      const unit = await v.lease();
      if (unit.kernel !== 'matmul-f32' || !('a' in unit)) throw new Error(`expected a dataset unit, got ${JSON.stringify(unit)}`);
      const slices = unit as unknown as { a: { root: string }; b: { root: string } };
      expect(roots).toContain(slices.a.root);
      expect(roots).toContain(slices.b.root);
      expect(await submit(v, unit, honest(unit, hash), hash)).toMatchObject({ verdict: 'accepted' });
    }

    // The download: the results file, C as binary, and C.npy assembled by the job's grid.
    el.refresh(true);
    const panel = el.shadowRoot!.querySelector('tg-downloads') as Downloads;
    await until(() => panel.shadowRoot!.querySelector('li[data-job="mine"]') !== null);
    const item = panel.shadowRoot!.querySelector('li[data-job="mine"]')!;
    expect(item.querySelector('button')!.textContent!.trim()).toBe('Prepare results of mine (JSON header, C as binary, and C.npy)');
    const blobs = new Map<string, Blob>();
    vi.spyOn(URL, 'createObjectURL').mockImplementation((blob) => (blobs.set(`blob:${blobs.size}`, blob as Blob), `blob:${blobs.size - 1}`));
    item.querySelector('button')!.click();
    await until(() => item.querySelectorAll('a[download]').length === 3);
    expect(item.querySelector('[data-field="status"]')!.textContent).toBe('Ready: save the 3 files below.');
    const link = item.querySelector<HTMLAnchorElement>('a[download="tabgrid-mine-C.npy"]')!;
    const c = parseNpy(new Uint8Array(await blobs.get(link.getAttribute('href')!)!.arrayBuffer()), 'C.npy');
    expect(c).toMatchObject({ dtype: '<f4', shape: [rows, cols] });
    expect([...new Float32Array(new Uint8Array(c.data).buffer)]).toEqual(product(a, b, rows, inner, cols));
  });
});
