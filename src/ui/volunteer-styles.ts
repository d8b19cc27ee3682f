import { css } from 'lit';

/**
 * The widget's look. Every colour, the radius and the font are custom properties an embedding
 * page can set (README: Theming); the defaults keep text at ≥ 4.5:1 contrast on their
 * backgrounds (fg 16.6:1, muted 8.3:1, accent-text on accent 6.7:1, error 6.5:1 on white).
 */
export const volunteerStyles = css`
  :host {
    display: block;
    font: var(--tabgrid-font, 15px/1.4 system-ui, sans-serif);
    color: var(--tabgrid-fg, #1b1b1f);
  }
  .card {
    border: 1px solid var(--tabgrid-border, #c9c9d1);
    border-radius: var(--tabgrid-radius, 8px);
    padding: 1rem 1.25rem;
    background: var(--tabgrid-bg, #fff);
    max-width: 34rem;
  }
  .what {
    margin-top: 0;
  }
  .buttons {
    display: flex;
    flex-wrap: wrap;
    gap: 0.5rem;
    align-items: center;
  }
  button {
    font: inherit;
    font-weight: 600;
    padding: 0.4rem 1.2rem;
    border-radius: calc(var(--tabgrid-radius, 8px) - 2px);
    cursor: pointer;
  }
  button.primary {
    border: 2px solid var(--tabgrid-accent, #1d4ed8);
    color: var(--tabgrid-accent-text, #fff);
    background: var(--tabgrid-accent, #1d4ed8);
  }
  button.secondary {
    border: 2px solid var(--tabgrid-accent, #1d4ed8);
    color: var(--tabgrid-accent, #1d4ed8);
    background: var(--tabgrid-bg, #fff);
  }
  button:disabled {
    cursor: default;
    border-color: var(--tabgrid-border, #c9c9d1);
    color: var(--tabgrid-muted, #4b4b57);
  }
  button:focus-visible,
  input:focus-visible {
    outline: 3px solid var(--tabgrid-focus, #b45309);
    outline-offset: 2px;
  }
  .error {
    color: var(--tabgrid-error, #b91c1c);
    font-weight: 600;
  }
  fieldset {
    border: 1px solid var(--tabgrid-border, #c9c9d1);
    border-radius: calc(var(--tabgrid-radius, 8px) - 2px);
    margin: 0.75rem 0;
    padding: 0.5rem 0.75rem;
  }
  legend {
    color: var(--tabgrid-muted, #4b4b57);
    padding: 0 0.25rem;
  }
  .throttle {
    display: flex;
    gap: 0.5rem;
    align-items: center;
  }
  .throttle input {
    flex: 1;
    accent-color: var(--tabgrid-accent, #1d4ed8);
  }
  .note {
    color: var(--tabgrid-muted, #4b4b57);
    font-size: 0.85em;
    margin: 0.25rem 0;
  }
  .check {
    display: block;
    margin-top: 0.25rem;
  }
  .check input {
    accent-color: var(--tabgrid-accent, #1d4ed8);
  }
  dl {
    display: grid;
    grid-template-columns: max-content 1fr;
    gap: 0.2rem 1rem;
  }
  dt {
    color: var(--tabgrid-muted, #4b4b57);
  }
  dd {
    margin: 0;
    font-variant-numeric: tabular-nums;
    overflow-wrap: anywhere;
  }
  .throughput {
    display: flex;
    gap: 0.5rem;
    align-items: flex-end;
  }
  .sparkline {
    display: block;
    max-width: 75%;
  }
  .sparkline polyline {
    fill: none;
    stroke: var(--tabgrid-accent, #1d4ed8);
    stroke-width: 1.5;
    vector-effect: non-scaling-stroke;
  }
  .sparkline .baseline {
    stroke: var(--tabgrid-border, #c9c9d1);
  }
  progress {
    width: 100%;
    accent-color: var(--tabgrid-accent, #1d4ed8);
  }
`;
