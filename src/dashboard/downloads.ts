import { LitElement, css, html, nothing } from 'lit';
import type { JobSpec } from '../host/job';
import { panelStyles } from './dashboard-styles';
import { formatBytes } from './format-bytes';
import { OutputKept, offersNpy, outputKept, resultsFileName, type BuiltResults, type ResultsFile } from './results-file';

export interface DownloadJob {
  readonly spec: JobSpec;
  readonly accepted: number;
}

/** A job's export as the watched host's `npm run host -- --export` writes it (observer-client.ts exportFiles). */
export type ExportFiles = (jobId: string) => Promise<{
  readonly state: string;
  readonly missing: number;
  readonly files: readonly { readonly name: string; readonly data: Uint8Array }[];
}>;

/** Where a job's download is: built on click, never on refresh. */
export const PrepareStatus = { Preparing: 'preparing', Saved: 'saved', Ready: 'ready', Failed: 'failed' } as const;
export type PrepareStatus = (typeof PrepareStatus)[keyof typeof PrepareStatus];

interface SavedFile {
  readonly name: string;
  readonly url: string;
  readonly bytes: number;
}
interface Prepared {
  readonly status: PrepareStatus;
  readonly files: readonly SavedFile[];
  readonly error?: string;
  /** An export's state and missing units, said when its files are ready. */
  readonly note?: string;
}

const KEPT_TEXT: Record<OutputKept, string> = {
  [OutputKept.None]: 'The output was not kept (the job does not collect it): the file holds roots and receipts.',
  [OutputKept.Digests]: "The file holds every accepted unit's digests with its root and receipt.",
  [OutputKept.Matrix]: "Two files: C of every accepted unit as binary, and a JSON header with each unit's offset, root and receipt.",
};
const TILED_TEXT =
  "Three files: C of every accepted unit as binary, a JSON header with each unit's offset, root and receipt, and C.npy: the whole product, each unit's block where the job's grid puts it (blocks not accepted yet are zero).";

/**
 * <tg-downloads>: per job, the results a researcher downloads (results-file.ts): one JSON file,
 * saved as soon as it is built, or for a matrix job that keeps its output a JSON header and C
 * as binary, built from one snapshot and offered as two links (one click each, so the browser
 * does not block the second download); a tiled product (your own A and B) adds C assembled as
 * one .npy. Built on click, reading outputs one unit at a time.
 */
export class Downloads extends LitElement {
  static override properties = {
    jobs: { attribute: false },
    build: { attribute: false },
    exportFiles: { attribute: false },
    prepared: { state: true },
  };

  declare jobs: readonly DownloadJob[];
  /** Builds a job's results from the host (the dashboard binds it). */
  declare build: ((jobId: string) => Promise<BuiltResults>) | undefined;
  /** A watched host's export of a job (the dashboard binds it in watch mode): offered beside the results file. */
  declare exportFiles: ExportFiles | undefined;
  declare private prepared: ReadonlyMap<string, Prepared>;

  constructor() {
    super();
    this.jobs = [];
    this.build = undefined;
    this.exportFiles = undefined;
    this.prepared = new Map();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    for (const p of this.prepared.values()) for (const f of p.files) URL.revokeObjectURL(f.url);
    this.prepared = new Map();
  }

  private put(jobId: string, p: Prepared): void {
    for (const f of this.prepared.get(jobId)?.files ?? []) if (!p.files.includes(f)) URL.revokeObjectURL(f.url);
    this.prepared = new Map(this.prepared).set(jobId, p);
  }

  /** Builds the results of `jobId`; saves a single file at once, offers two as links. Returns the file names. */
  async prepare(jobId: string): Promise<string[]> {
    if (!this.build) throw new Error('no host to download from yet');
    if (this.prepared.get(jobId)?.status === PrepareStatus.Preparing) return [];
    this.put(jobId, { status: PrepareStatus.Preparing, files: [] });
    let built: BuiltResults;
    try {
      built = await this.build(jobId);
    } catch (err) {
      this.put(jobId, { status: PrepareStatus.Failed, files: [], error: (err as Error).message });
      return [];
    }
    const blobs: [string, Blob][] = [[resultsFileName(jobId), new Blob([resultsJson(built.header)], { type: 'application/json' })]];
    if (built.c && built.header.layout)
      blobs.push([built.header.layout.file, new Blob([built.c as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' })]);
    if (built.npy) blobs.push([built.npy.name, new Blob([built.npy.data as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' })]);
    const files = blobs.map(([name, blob]) => ({ name, url: URL.createObjectURL(blob), bytes: blob.size }));
    if (files.length === 1) {
      save(files[0]!);
      // The click has started the download by the next task; the URL is no longer needed.
      setTimeout(() => URL.revokeObjectURL(files[0]!.url), 1000);
    }
    this.put(jobId, { status: files.length === 1 ? PrepareStatus.Saved : PrepareStatus.Ready, files });
    return files.map((f) => f.name);
  }

  /** Fetches job `jobId`'s export from the watched host and offers its files as links. Returns the file names. */
  async exportJob(jobId: string): Promise<string[]> {
    const key = exportKey(jobId);
    if (!this.exportFiles) throw new Error('no watched host to export from');
    if (this.prepared.get(key)?.status === PrepareStatus.Preparing) return [];
    this.put(key, { status: PrepareStatus.Preparing, files: [] });
    let exported: Awaited<ReturnType<ExportFiles>>;
    try {
      exported = await this.exportFiles(jobId);
    } catch (err) {
      this.put(key, { status: PrepareStatus.Failed, files: [], error: (err as Error).message });
      return [];
    }
    const files = exported.files.map((f) => {
      const blob = new Blob([f.data as Uint8Array<ArrayBuffer>], { type: f.name.endsWith('.json') ? 'application/json' : 'application/octet-stream' });
      return { name: f.name, url: URL.createObjectURL(blob), bytes: blob.size };
    });
    const note = exported.missing > 0 ? ` The export is ${exported.state}: ${exported.missing} unit(s) missing (manifest.json lists them).` : '';
    this.put(key, { status: PrepareStatus.Ready, files, note });
    return files.map((f) => f.name);
  }

  /** The preparation's state, announced (aria-live) without the unit counts that change on every refresh. */
  private status(p: Prepared | undefined): string {
    switch (p?.status) {
      case undefined:
        return '';
      case PrepareStatus.Preparing:
        return 'Preparing…';
      case PrepareStatus.Failed:
        return `Could not build the download: ${p.error}`;
      case PrepareStatus.Saved:
        return `Saved ${p.files.map((f) => `${f.name} (${formatBytes(f.bytes)})`).join(', ')}.`;
      case PrepareStatus.Ready:
        if (p.files.length === 2 && p.note === undefined) return 'Ready: save both files below.';
        return `Ready: save ${p.files.length === 1 ? 'the file' : `the ${p.files.length} files`} below.${p.note ?? ''}`;
    }
  }

  private item(j: DownloadJob) {
    const kept = outputKept(j.spec);
    const p = this.prepared.get(j.spec.id);
    const tiled = offersNpy(j.spec);
    const label =
      kept !== OutputKept.Matrix
        ? `Download results of ${j.spec.id} (JSON)`
        : tiled
          ? `Prepare results of ${j.spec.id} (JSON header, C as binary, and C.npy)`
          : `Prepare results of ${j.spec.id} (JSON header and C as binary)`;
    return html`<li data-job=${j.spec.id}>
      <button type="button" ?disabled=${!this.build || p?.status === PrepareStatus.Preparing} @click=${() => void this.prepare(j.spec.id)}>${label}</button>
      <span class="muted" data-field="units"
        >${j.accepted} of ${j.spec.units} units accepted${j.accepted < j.spec.units ? '; a download holds those accepted by then' : ''}.</span
      >
      <span role="status" aria-live="polite" data-field="status" class=${p?.status === PrepareStatus.Failed ? 'error' : ''}>${this.status(p)}</span>
      <p class="muted" data-field="kept">${tiled ? TILED_TEXT : KEPT_TEXT[kept]}</p>
      ${this.links(p)} ${this.exportFiles ? this.exportItem(j) : nothing}
    </li>`;
  }

  private links(p: Prepared | undefined) {
    return p?.status === PrepareStatus.Ready
      ? html`<ul class="files">
          ${p.files.map((f) => html`<li><a href=${f.url} download=${f.name}>Save ${f.name}</a> <span class="muted">(${formatBytes(f.bytes)})</span></li>`)}
        </ul>`
      : nothing;
  }

  /** The watched host's export: the files `npm run host -- --export` writes, fetched on click. */
  private exportItem(j: DownloadJob) {
    const p = this.prepared.get(exportKey(j.spec.id));
    return html`<div data-field="export">
      <button type="button" ?disabled=${p?.status === PrepareStatus.Preparing} @click=${() => void this.exportJob(j.spec.id)}>
        Export ${j.spec.id} as the host writes it (output files and manifest.json)
      </button>
      <span role="status" aria-live="polite" data-field="export-status" class=${p?.status === PrepareStatus.Failed ? 'error' : ''}>${this.status(p)}</span>
      ${this.links(p)}
    </div>`;
  }

  override render() {
    return html`
      <section aria-labelledby="dl-title">
        <h2 id="dl-title">Downloads</h2>
        <p class="help">
          Each file holds the Merkle root of every accepted unit's output, the volunteer, the receipt the host signed and the host's public key, so anyone can
          check the receipts' signatures. Jobs that keep their output (Keep the output, <code>collect</code>) add the output itself. Files are built when you
          click, from the units accepted by then.
        </p>
        ${this.jobs.length === 0 ? html`<p class="muted">No jobs yet.</p>` : null}
        <ul>
          ${this.jobs.map((j) => this.item(j))}
        </ul>
      </section>
    `;
  }

  static override styles = [
    panelStyles,
    css`
      ul {
        list-style: none;
        padding: 0;
        margin: 0;
        display: grid;
        gap: 0.6rem;
      }
      ul.files {
        gap: 0.2rem;
        margin-top: 0.2rem;
      }
      p.muted {
        margin: 0.2rem 0 0;
      }
    `,
  ];
}

/** Where a job's export is kept among the preparations (beside its results file's). */
const exportKey = (jobId: string) => `export:${jobId}`;

/** Starts the browser's download of a file. */
function save(f: SavedFile): void {
  const a = document.createElement('a');
  a.href = f.url;
  a.download = f.name;
  a.click();
}

if (!customElements.get('tg-downloads')) customElements.define('tg-downloads', Downloads);

declare global {
  interface HTMLElementTagNameMap {
    'tg-downloads': Downloads;
  }
}

/**
 * The results file's text: indented for reading, except when it holds digests, where one line
 * keeps a large job's file (a million digests) well under the engine's string limit.
 */
function resultsJson(header: ResultsFile): string {
  return header.output === OutputKept.Digests ? JSON.stringify(header) : JSON.stringify(header, null, 2);
}
