/**
 * A small accessibility check for e2e specs (axe-core is not a dependency). It walks the page
 * including open shadow roots (our Lit elements) and reports, as readable lines:
 * - form controls without an accessible name (aria-label, aria-labelledby, <label for>, a
 *   wrapping <label>, or title);
 * - buttons without text;
 * - images without alt, and SVGs that are neither aria-hidden nor labelled images;
 * - the absence of any live region (aria-live, or role log/status/alert);
 * - visible text whose contrast with its background is below 4.5:1 (3:1 for large text),
 *   background colours composited up the tree (background images are not considered).
 * Disabled controls are exempt from contrast, as in WCAG 1.4.3.
 */
import type { Page } from '@playwright/test';

export interface A11yOptions {
  /** Skip the live-region rule (a page with nothing that updates). */
  readonly noLiveRegionNeeded?: boolean;
}

export async function a11yViolations(page: Page, options: A11yOptions = {}): Promise<string[]> {
  return page.evaluate(checkPage, options);
}

/** Runs in the page: self-contained, no imports or closures. */
function checkPage(options: A11yOptions): string[] {
  const problems: string[] = [];
  const elements: Element[] = [];
  const walk = (root: ParentNode) => {
    for (const el of root.querySelectorAll('*')) {
      elements.push(el);
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);

  const describe = (el: Element) =>
    `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}${el.getAttribute('name') ? ` name=${el.getAttribute('name')}` : ''}> in ${(el.getRootNode() as ShadowRoot).host?.tagName.toLowerCase() ?? 'document'}`;
  const textOf = (el: Element | null | undefined) => (el?.textContent ?? '').replace(/\s+/g, ' ').trim();
  const visible = (el: Element) => el.getClientRects().length > 0 && getComputedStyle(el).visibility !== 'hidden';
  const nameOf = (el: Element): string => {
    const root = el.getRootNode() as Document | ShadowRoot;
    const label = el.getAttribute('aria-label')?.trim();
    if (label) return label;
    const by = el.getAttribute('aria-labelledby');
    if (by) {
      const named = by
        .split(/\s+/)
        .map((id) => textOf(root.getElementById?.(id) ?? root.querySelector(`#${CSS.escape(id)}`)))
        .join(' ')
        .trim();
      if (named) return named;
    }
    if (el.id) {
      const forLabel = textOf(root.querySelector(`label[for="${CSS.escape(el.id)}"]`));
      if (forLabel) return forLabel;
    }
    const wrapping = textOf(el.closest('label'));
    if (wrapping) return wrapping;
    return el.getAttribute('title')?.trim() ?? '';
  };

  let live = false;
  for (const el of elements) {
    const tag = el.tagName.toLowerCase();
    const role = el.getAttribute('role');
    if (['polite', 'assertive'].includes(el.getAttribute('aria-live') ?? '') || ['log', 'status', 'alert'].includes(role ?? '')) live = true;
    if ((tag === 'input' && (el as HTMLInputElement).type !== 'hidden') || tag === 'select' || tag === 'textarea') {
      const value = ['submit', 'button', 'reset'].includes((el as HTMLInputElement).type) ? (el as HTMLInputElement).value : '';
      if (!nameOf(el) && !value) problems.push(`form control without an accessible name: ${describe(el)}`);
    }
    if (tag === 'button' || role === 'button') {
      if (!textOf(el) && !nameOf(el)) problems.push(`button without text: ${describe(el)}`);
    }
    if (tag === 'img' && !el.hasAttribute('alt')) problems.push(`image without alt: ${describe(el)}`);
    if (tag === 'svg' && !el.parentElement?.closest('svg') && el.getAttribute('aria-hidden') !== 'true') {
      const labelled = el.getAttribute('role') === 'img' && (nameOf(el) || textOf(el.querySelector(':scope > title')));
      if (!labelled) problems.push(`svg that is not aria-hidden needs role="img" and a label: ${describe(el)}`);
    }
  }
  if (!live && !options.noLiveRegionNeeded) problems.push('no aria-live region (aria-live, or role log/status/alert) on the page');

  // Contrast of each visible element's own text.
  type Rgba = [number, number, number, number];
  const parse = (c: string): Rgba | undefined => {
    const m = /^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/.exec(c.trim());
    return m ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])] : undefined;
  };
  const over = (top: Rgba, bottom: Rgba): Rgba => {
    const a = top[3] + bottom[3] * (1 - top[3]);
    if (a === 0) return [0, 0, 0, 0];
    const mix = (i: number) => (top[i]! * top[3] + bottom[i]! * bottom[3] * (1 - top[3])) / a;
    return [mix(0), mix(1), mix(2), a];
  };
  const parentOf = (el: Element): Element | null => el.parentElement ?? ((el.getRootNode() as ShadowRoot).host || null);
  const background = (el: Element): Rgba => {
    const layers: Rgba[] = [];
    for (let at: Element | null = el; at; at = parentOf(at)) {
      const bg = parse(getComputedStyle(at).backgroundColor);
      if (bg && bg[3] > 0) {
        layers.push(bg);
        if (bg[3] >= 1) break;
      }
    }
    return layers.reduceRight<Rgba>((below, layer) => over(layer, below), [255, 255, 255, 1]);
  };
  const luminance = ([r, g, b]: Rgba) => {
    const lin = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  };
  for (const el of elements) {
    const ownText = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim() !== '');
    if (!ownText || !visible(el) || (el as HTMLButtonElement).disabled || el.closest('[disabled]')) continue;
    const style = getComputedStyle(el);
    const fg = parse(el instanceof SVGElement ? style.fill : style.color);
    if (!fg) continue;
    const bg = background(el);
    const shown = over(fg, bg);
    const [l1, l2] = [luminance(shown), luminance(bg)].sort((a, b) => b - a) as [number, number];
    const ratio = (l1 + 0.05) / (l2 + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    const needed = large ? 3 : 4.5;
    if (ratio < needed) problems.push(`contrast ${ratio.toFixed(2)}:1 < ${needed}:1 for "${textOf(el).slice(0, 40)}": ${describe(el)}`);
  }
  return problems;
}
