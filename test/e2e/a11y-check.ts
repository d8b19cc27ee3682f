import type { Page } from '@playwright/test';

/**
 * A focused accessibility check of the widget's shadow DOM, standing in for axe-core (not a
 * dependency here): every form control has a label, every button a name, a polite live region
 * exists, and every piece of visible text meets WCAG AA contrast against its actual background
 * (4.5:1, or 3:1 for large text; disabled controls are exempt, as in WCAG). Returns problems in words.
 */
export async function widgetA11yProblems(page: Page, selector = 'tabgrid-volunteer'): Promise<string[]> {
  return page.evaluate((sel) => {
    const problems: string[] = [];
    const host = document.querySelector(sel);
    const root = host?.shadowRoot;
    if (!host || !root) return [`no ${sel} with a shadow root`];

    const name = (el: Element) => `<${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}>`;
    for (const input of root.querySelectorAll('input, select, textarea')) {
      const labelled =
        (input.id && root.querySelector(`label[for="${input.id}"]`)) ||
        input.closest('label') ||
        input.getAttribute('aria-label') ||
        input.getAttribute('aria-labelledby');
      if (!labelled) problems.push(`${name(input)} has no label`);
    }
    for (const button of root.querySelectorAll('button')) {
      if (!(button.textContent ?? '').trim() && !button.getAttribute('aria-label')) problems.push(`${name(button)} has no name`);
    }
    const live = root.querySelector('[aria-live]');
    if (!live || live.getAttribute('aria-live') !== 'polite') problems.push('no aria-live="polite" region');
    for (const img of root.querySelectorAll('svg')) {
      if (img.getAttribute('role') === 'img' && !img.getAttribute('aria-label')) problems.push('an svg image has no aria-label');
    }

    // Contrast, per element that directly holds visible text.
    const rgba = (c: string): [number, number, number, number] => {
      const m = c.match(/rgba?\(([^)]+)\)/);
      if (!m) return [0, 0, 0, 0];
      const parts = m[1]!
        .split(/[ ,/]+/)
        .filter(Boolean)
        .map(Number);
      return [parts[0]!, parts[1]!, parts[2]!, parts[3] ?? 1];
    };
    const luminance = ([r, g, b]: number[]) => {
      const lin = (v: number) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * lin(r!) + 0.7152 * lin(g!) + 0.0722 * lin(b!);
    };
    const parentOf = (el: Element): Element | null => el.parentElement ?? ((el.getRootNode() as ShadowRoot).host || null);
    const background = (el: Element): number[] => {
      for (let at: Element | null = el; at; at = parentOf(at)) {
        const [r, g, b, a] = rgba(getComputedStyle(at).backgroundColor);
        if (a > 0.99) return [r, g, b];
      }
      return [255, 255, 255];
    };
    for (const el of root.querySelectorAll('*')) {
      const text = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && (n.textContent ?? '').trim());
      if (!text || (el as HTMLButtonElement).disabled || el.closest('svg')) continue;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || style.display === 'none') continue;
      const [fr, fg, fb] = rgba(style.color);
      const bg = background(el);
      const [l1, l2] = [luminance([fr, fg, fb]), luminance(bg)].sort((a, b) => b - a) as [number, number];
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      const size = parseFloat(style.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) problems.push(`${name(el)} "${el.textContent!.trim().slice(0, 30)}": contrast ${ratio.toFixed(2)}:1`);
    }
    return problems;
  }, selector);
}

/** Tabs through the page and returns what got focus inside the widget, in order. */
export async function widgetTabOrder(page: Page, presses = 8): Promise<{ focused: string; outline: string }[]> {
  const order: { focused: string; outline: string }[] = [];
  for (let i = 0; i < presses; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => {
      const el = document.querySelector('tabgrid-volunteer')?.shadowRoot?.activeElement;
      if (!el) return undefined;
      const s = getComputedStyle(el);
      const label = el.id || el.getAttribute('data-control') || el.getAttribute('data-action') || el.className || el.tagName;
      return { focused: `${el.tagName.toLowerCase()}:${label}`, outline: `${s.outlineStyle} ${s.outlineWidth}` };
    });
    if (at) order.push(at);
  }
  return order;
}
