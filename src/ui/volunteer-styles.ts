import { css } from 'lit';

/** The widget's look; every colour is a custom property, so an embedding page can theme it. */
export const volunteerStyles = css`
  :host {
    display: block;
    font: 15px/1.4 system-ui, sans-serif;
    color: var(--tabgrid-fg, #1b1b1f);
  }
  .card {
    border: 1px solid var(--tabgrid-border, #c9c9d1);
    border-radius: 8px;
    padding: 1rem 1.25rem;
    background: var(--tabgrid-bg, #fff);
    max-width: 32rem;
  }
  button {
    font: inherit;
    font-weight: 600;
    padding: 0.4rem 1.4rem;
    border-radius: 6px;
    border: none;
    color: #fff;
    background: var(--tabgrid-accent, #1d4ed8);
    cursor: pointer;
  }
  button:focus-visible {
    outline: 3px solid var(--tabgrid-focus, #f59e0b);
    outline-offset: 2px;
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
  }
  progress {
    width: 100%;
  }
`;

