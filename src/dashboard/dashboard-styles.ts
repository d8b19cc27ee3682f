import { css } from 'lit';

/**
 * The dashboard's look, shared by its panels. Every colour is a custom property (the same
 * --tabgrid-* names as the volunteer widget, plus one per unit state), so a page themes it
 * from outside the shadow roots. Defaults meet WCAG AA: text ≥ 4.5:1, state colours ≥ 3:1
 * against the panel background.
 */
export const panelStyles = css`
  /* A grid item shrinks below its table's width only with min-width 0; the panel then scrolls sideways, the page does not. */
  :host {
    display: block;
    min-width: 0;
    font:
      15px/1.45 system-ui,
      sans-serif;
    color: var(--tabgrid-fg, #1b1b1f);
  }
  section {
    overflow-x: auto;
    border: 1px solid var(--tabgrid-border, #c9c9d1);
    border-radius: 8px;
    padding: 0.75rem 1rem;
    background: var(--tabgrid-bg, #fff);
  }
  h2 {
    font-size: 1.05rem;
    margin: 0 0 0.5rem;
  }
  .muted,
  .help {
    color: var(--tabgrid-muted, #4b4b57);
    font-size: 0.9rem;
  }
  button {
    font: inherit;
    font-weight: 600;
    padding: 0.35rem 1rem;
    border-radius: 6px;
    border: none;
    color: var(--tabgrid-accent-fg, #fff);
    background: var(--tabgrid-accent, #1d4ed8);
    cursor: pointer;
  }
  button:disabled {
    cursor: not-allowed;
    opacity: 0.75;
  }
  button:focus-visible,
  input:focus-visible,
  select:focus-visible,
  a:focus-visible {
    outline: 3px solid var(--tabgrid-focus, #b45309);
    outline-offset: 2px;
  }
  a {
    color: var(--tabgrid-link, #1d4ed8);
  }
  .error {
    color: var(--tabgrid-error, #b91c1c);
    font-size: 0.9rem;
    margin: 0.15rem 0 0;
  }
  .visually-hidden {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;

/** The colour of each unit state, for the grid cells and their legend. */
/** Text inputs and selects of the dashboard's forms (each form sets its own max-width). */
export const fieldStyles = css`
  input:not([type]),
  select {
    font: inherit;
    width: 100%;
    box-sizing: border-box;
    padding: 0.25rem 0.4rem;
    border: 1px solid var(--tabgrid-input-border, #767682);
    border-radius: 4px;
    color: inherit;
    background: var(--tabgrid-bg, #fff);
  }
`;

export const stateStyles = css`
  .s-queued {
    background: var(--tabgrid-queued, #767682);
  }
  .s-leased {
    background: var(--tabgrid-leased, #1d4ed8);
  }
  .s-verifying {
    background: var(--tabgrid-verifying, #b45309);
  }
  .s-accepted {
    background: var(--tabgrid-accepted, #15803d);
  }
  .s-rejected {
    background: var(--tabgrid-rejected, #b91c1c);
  }
`;

/** The panels' data tables (jobs, volunteers, leaderboard): full width, tabular figures, ruled rows, numbers to the right. */
export const tableStyles = css`
  table {
    border-collapse: collapse;
    width: 100%;
    font-variant-numeric: tabular-nums;
  }
  th,
  td {
    text-align: left;
    padding: 0.2rem 0.5rem;
    border-bottom: 1px solid var(--tabgrid-border, #c9c9d1);
  }
  thead th {
    color: var(--tabgrid-muted, #4b4b57);
    font-weight: 600;
  }
  .num {
    text-align: right;
  }
`;
