import { LitElement, css, html, nothing } from 'lit';
import type { JobSpec } from '../host/job';
import { formFieldsOf, kernelForm } from '../kernels/host-registry';
import { KERNELS } from '../kernels/units';
import { fieldStyles, panelStyles } from './dashboard-styles';
import { formatBytes } from './format-bytes';
import {
  DEFAULT_FORM,
  FILE_KERNELS,
  InputSource,
  MatrixVerify,
  RecordsLayout,
  fieldsFor,
  fileFieldOf,
  fileFieldsFor,
  outputSize,
  requestFromForm,
  usesFiles,
  verifyChoices,
  specFromFile,
  specFromForm,
  type FieldErrors,
  type FileField,
  type FormFiles,
  type JobFormField,
  type JobFormValues,
} from './job-form-model';

/**
 * Fired when the researcher creates a job: a checked seeded spec (form or job file), or a job
 * request on their own files (host/ingest/request.ts), which the dashboard ingests: the files
 * are read and checked then, and nothing is stored unless all of them are good.
 */
export const JOB_SUBMIT = 'tg-job-submit';
export type JobSubmitDetail =
  { readonly spec: JobSpec; readonly request?: undefined } | { readonly request: Record<string, unknown>; readonly spec?: undefined };
export type JobSubmitEvent = CustomEvent<JobSubmitDetail>;

/** Per file input: its label, what it takes (the picker's filter) and help. */
const FILE_INPUTS: Record<FileField, { readonly label: string; readonly accept: string; readonly help: string }> = {
  a: { label: 'A (.npy)', accept: '.npy', help: 'M×K, C order, little-endian: float32 for f32; uint32, int32 or uint16 residues below p for modp.' },
  b: { label: 'B (.npy)', accept: '.npy', help: "K×N, as A. The job is cut into blocks of C (bands of A's rows times panels of B's columns)." },
  records: { label: 'Records', accept: '', help: 'Messages to hash, laid out as the format below says; each unit hashes "Messages per unit" of them.' },
  headers: { label: 'Block headers (text)', accept: '.txt,text/plain', help: 'One header a line, 160 hex digits (80 bytes) each.' },
};

const LAYOUT_LABELS: Record<RecordsLayout, string> = {
  [RecordsLayout.LengthPrefixed]: 'Length-prefixed records (u32 little-endian length, then the bytes)',
  [RecordsLayout.Fixed]: 'Records of one size, back to back',
  [RecordsLayout.Directory]: 'A folder of files, one record each (in name order)',
};

const VERIFY_LABELS: Record<MatrixVerify, string> = {
  [MatrixVerify.Challenge]: 'Recompute sampled leaves or rows (challenge)',
  [MatrixVerify.Freivalds]: "Freivalds' check on all of C",
  [MatrixVerify.Replicate]: 'Replicate: two volunteers must agree (a third decides)',
};

/** Per field: label and help text; each kernel's own fields come from its form (kernels/<kernel>/form.ts). */
const FIELDS: Partial<Record<JobFormField, readonly [string, string?]>> = {
  id: ['Job id', 'Letters, digits, . _ or -; a new id for each job.'],
  units: ['Work units'],
  seed: ['Seed', "Every unit's input is generated from it."],
  recordBytes: ['Record size (bytes)'],
  unitsPerHeader: ['Units per header', "Each header's nonce range is split into this many units."],
  priority: ['Priority', 'Higher runs first.'],
  ...Object.fromEntries(KERNELS.flatMap((k) => formFieldsOf(k).map(({ name, field }) => [name, [field.label, field.help]] as const))),
  samples: [
    'Samples per result',
    'Leaves (or rows) the host recomputes per result: faking a fraction f is caught with probability 1 − (1 − f)^samples. With replication, per replica from a key without an earned record, so agreeing free keys cannot settle a unit on their own.',
  ],
  rounds: ['Freivalds rounds'],
  warmup: ['Warm-up (valid results before spot checks)'],
  minCheckRate: ['Lowest check rate (0–1]'],
  decay: ['Check-rate decay per valid result (0–1]'],
  banAfter: ['Ban after this many invalid results'],
};

/**
 * <tg-job-form>: creates a job from a form (kernel, sizes, seed, verification and trust
 * policy) or from a job file (JSON), both checked by the host's own parseJob; errors are
 * shown next to their field. Fires tg-job-submit; the dashboard adds the job and reports a
 * host-side failure back through `submitError`.
 */
export class JobForm extends LitElement {
  static override properties = {
    submitError: { type: String, attribute: false },
    created: { type: String, attribute: false },
    values: { state: true },
    errors: { state: true },
    fileError: { state: true },
    files: { state: true },
  };

  /** Set by the dashboard when the host refused the job (e.g. a known id with another spec). */
  declare submitError: string;
  /** Set by the dashboard when the host took the job: the confirmation, announced politely. */
  declare created: string;
  declare private values: JobFormValues;
  declare private errors: FieldErrors;
  declare private fileError: string;
  /** The researcher's own files, chosen so far (read only when the job is created). */
  declare private files: FormFiles;

  constructor() {
    super();
    this.submitError = '';
    this.created = '';
    this.values = DEFAULT_FORM;
    this.errors = {};
    this.fileError = '';
    this.files = {};
  }

  private set(field: JobFormField, value: string | boolean): void {
    this.values = { ...this.values, [field]: value };
    if (this.errors[field]) this.errors = { ...this.errors, [field]: undefined };
  }

  private choose(field: FileField, input: HTMLInputElement): void {
    const chosen = [...(input.files ?? [])];
    this.files = { ...this.files, [field]: field === 'records' ? chosen : chosen[0] };
    this.submitError = '';
    if (this.errors[field]) this.errors = { ...this.errors, [field]: undefined };
  }

  private submit(e: Event): void {
    e.preventDefault();
    if (usesFiles(this.values)) {
      const parsed = requestFromForm(this.values, this.files);
      this.errors = parsed.errors ?? {};
      if (parsed.request) this.emit({ request: parsed.request });
    } else {
      const parsed = specFromForm(this.values);
      this.errors = parsed.errors ?? {};
      if (parsed.spec) this.emit({ spec: parsed.spec });
    }
    if (Object.keys(this.errors).length > 0)
      void this.updateComplete.then(() => (this.renderRoot.querySelector('[aria-invalid="true"]') as HTMLElement | null)?.focus());
  }

  private async upload(e: Event): Promise<void> {
    const input = e.target as HTMLInputElement;
    const file = input.files?.[0];
    if (!file) return;
    const parsed = specFromFile(await file.text());
    this.fileError = parsed.error ?? '';
    if (parsed.spec) this.emit({ spec: parsed.spec });
    input.value = '';
  }

  private emit(detail: JobSubmitDetail): void {
    this.submitError = '';
    this.created = '';
    this.dispatchEvent(new CustomEvent(JOB_SUBMIT, { detail, bubbles: true, composed: true }));
  }

  /**
   * A file input of the researcher's own data, with the error about that file next to it: the
   * form's own (none chosen), or the host's when reading it failed (its message names the file).
   */
  private fileInput(name: FileField) {
    const { label, accept, help } = FILE_INPUTS[name];
    const hostError = this.submitError && fileFieldOf(this.submitError, this.files) === name ? this.submitError : '';
    const error = this.errors[name] ?? hostError;
    const folder = name === 'records' && this.values.recordsFormat === RecordsLayout.Directory;
    return html`<div class="field">
      <label for="f-file-${name}">${folder ? 'Records (a folder)' : label}</label>
      <input
        type="file"
        id="f-file-${name}"
        accept=${accept || nothing}
        ?multiple=${folder}
        ?webkitdirectory=${folder}
        aria-invalid=${error ? 'true' : 'false'}
        aria-describedby=${`h-file-${name}${error ? ` e-file-${name}` : ''}`}
        @change=${(e: Event) => this.choose(name, e.target as HTMLInputElement)}
      />
      <p id="h-file-${name}" class="help">${help}</p>
      ${error ? html`<p id="e-file-${name}" class="error" role=${hostError ? 'alert' : nothing}>${error}</p>` : nothing}
    </div>`;
  }

  /** The inputs' source, for kernels that can read the researcher's files; with files, the file inputs and their layout. */
  private source() {
    const v = this.values;
    if (!FILE_KERNELS.includes(v.kernel)) return nothing;
    const files = usesFiles(v);
    return html`<div class="field">
        <label for="f-source">Inputs</label>
        <select id="f-source" .value=${v.source} @change=${(e: Event) => this.set('source', (e.target as HTMLSelectElement).value)}>
          <option value=${InputSource.Seeded} ?selected=${!files}>Generated from a seed</option>
          <option value=${InputSource.Files} ?selected=${files}>Your own data (files)</option>
        </select>
      </div>
      ${
        files
          ? html`${
              v.kernel === 'sha256-batch'
                ? html`<div class="field">
                    <label for="f-recordsFormat">Records format</label>
                    <select
                      id="f-recordsFormat"
                      .value=${v.recordsFormat}
                      @change=${(e: Event) => this.set('recordsFormat', (e.target as HTMLSelectElement).value)}
                    >
                      ${Object.values(RecordsLayout).map((l) => html`<option value=${l} ?selected=${v.recordsFormat === l}>${LAYOUT_LABELS[l]}</option>`)}
                    </select>
                  </div>`
                : nothing
            }
            ${fileFieldsFor(v.kernel).map((f) => this.fileInput(f))}`
          : nothing
      }`;
  }

  private field(name: JobFormField) {
    const [label, help] = FIELDS[name]!;
    const error = this.errors[name];
    const described = [help ? `h-${name}` : '', error ? `e-${name}` : ''].filter(Boolean).join(' ');
    return html`<div class="field">
      <label for="f-${name}">${label}</label>
      <input
        id="f-${name}"
        name=${name}
        inputmode=${name === 'id' ? 'text' : 'decimal'}
        .value=${String(this.values[name])}
        aria-invalid=${error ? 'true' : 'false'}
        aria-describedby=${described || nothing}
        @input=${(e: Event) => this.set(name, (e.target as HTMLInputElement).value)}
      />
      ${help ? html`<p id="h-${name}" class="help">${help}</p>` : nothing} ${error ? html`<p id="e-${name}" class="error">${error}</p>` : nothing}
    </div>`;
  }

  /** The "Keep the output" checkbox, with what keeping it costs for the sizes typed. */
  private collect() {
    const v = this.values;
    const size = outputSize(v);
    const what = kernelForm(v.kernel).output?.what;
    return html`<div class="check">
        <input
          type="checkbox"
          id="f-collect"
          .checked=${v.collect}
          aria-describedby="h-collect"
          @change=${(e: Event) => this.set('collect', (e.target as HTMLInputElement).checked)}
        />
        <label for="f-collect">Keep the output (the ${what} of every accepted unit), to download it</label>
      </div>
      <p id="h-collect" class="help">
        Each volunteer uploads a unit's output once more after its result is checked (up to 4 MiB a unit), and it is kept in this page's
        IndexedDB${size ? html`: <span data-field="collect-size">${formatBytes(size.perUnit)} a unit, ${formatBytes(size.total)} for the job</span>` : nothing}.
        ${v.collect ? nothing : 'Off: the host keeps only Merkle roots and receipts, and the output stays with the volunteers.'}
      </p>`;
  }

  override render() {
    const v = this.values;
    const shown = fieldsFor(v);
    const sizes = formFieldsOf(v.kernel).map(({ name }) => name);
    const matrix = shown.has('verify');
    const note = kernelForm(v.kernel).note;

    return html`
      <section aria-labelledby="form-title">
        <h2 id="form-title">New job</h2>
        <p class="help">
          A job's inputs are generated from its seed, or are your own data: .npy matrices, a records file or a headers file, read and checked in this page when
          you create the job (a bad file is named with what is wrong, and nothing is stored), kept in this page's IndexedDB, and fetched by volunteers in
          Merkle-checked chunks. A job file is a seeded job spec in JSON (the format <code>npm run host</code> takes).
        </p>
        <form @submit=${this.submit} novalidate>
          ${this.field('id')}
          <div class="field">
            <label for="f-kernel">Kernel</label>
            <select id="f-kernel" .value=${v.kernel} @change=${(e: Event) => this.set('kernel', (e.target as HTMLSelectElement).value)}>
              ${KERNELS.map((k) => html`<option value=${k} ?selected=${k === v.kernel}>${kernelForm(k).label}</option>`)}
            </select>
          </div>
          ${this.source()} ${shown.has('units') ? this.field('units') : nothing} ${shown.has('seed') ? this.field('seed') : nothing}
          ${sizes.filter((f) => shown.has(f)).map((f) => this.field(f))} ${shown.has('recordBytes') ? this.field('recordBytes') : nothing}
          ${shown.has('unitsPerHeader') ? this.field('unitsPerHeader') : nothing} ${shown.has('collect') ? this.collect() : nothing}
          <fieldset>
            <legend>Verification</legend>
            ${
              matrix
                ? html`<div class="field">
                    <label for="f-verify">Policy</label>
                    <select id="f-verify" .value=${v.verify} @change=${(e: Event) => this.set('verify', (e.target as HTMLSelectElement).value)}>
                      ${verifyChoices(v.kernel).map((c) => html`<option value=${c} ?selected=${v.verify === c}>${VERIFY_LABELS[c]}</option>`)}
                    </select>
                  </div>`
                : nothing
            }
            ${shown.has('samples') ? this.field('samples') : nothing} ${shown.has('rounds') ? this.field('rounds') : nothing}
            ${note ? html`<p class="help">${note}</p>` : nothing}
            <div class="check">
              <input type="checkbox" id="f-trust" .checked=${v.trust} @change=${(e: Event) => this.set('trust', (e.target as HTMLInputElement).checked)} />
              <label for="f-trust">Adaptive trust: spot-check volunteers with a run of valid results, ban repeat offenders</label>
            </div>
            ${v.trust ? (['warmup', 'minCheckRate', 'decay', 'banAfter'] as const).map((f) => this.field(f)) : html`<p class="help">Off: every result is verified and nobody is banned.</p>`}
          </fieldset>
          ${this.field('priority')} ${this.errors.form ? html`<p class="error" role="alert">${this.errors.form}</p>` : nothing}
          <button type="submit">Create job</button>
          <p class="created" role="status" data-field="created">${this.created}</p>
          ${
            this.submitError && !fileFieldOf(this.submitError, usesFiles(v) ? this.files : {})
              ? html`<p class="error" role="alert" data-field="submit-error">${this.submitError}</p>`
              : nothing
          }
        </form>
        <div class="field file">
          <label for="f-file">…or create a job from a job file (JSON)</label>
          <input
            type="file"
            id="f-file"
            accept="application/json,.json"
            aria-invalid=${this.fileError ? 'true' : 'false'}
            aria-describedby=${this.fileError ? 'e-file' : nothing}
            @change=${this.upload}
          />
          ${this.fileError ? html`<p id="e-file" class="error" role="alert">${this.fileError}</p>` : nothing}
        </div>
      </section>
    `;
  }

  static override styles = [
    panelStyles,
    fieldStyles,
    css`
      .field {
        margin: 0 0 0.6rem;
      }
      label {
        display: block;
        font-weight: 600;
        font-size: 0.92rem;
      }
      .check {
        display: flex;
        gap: 0.5rem;
        align-items: baseline;
        margin: 0.4rem 0;
      }
      .check label {
        font-weight: normal;
      }
      input:not([type]),
      select {
        max-width: 22rem;
      }
      input[aria-invalid='true'] {
        border-color: var(--tabgrid-error, #b91c1c);
      }
      .help {
        margin: 0.1rem 0 0;
      }
      fieldset {
        border: 1px solid var(--tabgrid-border, #c9c9d1);
        border-radius: 6px;
        margin: 0 0 0.6rem;
      }
      .file {
        margin-top: 0.8rem;
      }
    `,
  ];
}

if (!customElements.get('tg-job-form')) customElements.define('tg-job-form', JobForm);

declare global {
  interface HTMLElementTagNameMap {
    'tg-job-form': JobForm;
  }
  interface HTMLElementEventMap {
    [JOB_SUBMIT]: JobSubmitEvent;
  }
}
