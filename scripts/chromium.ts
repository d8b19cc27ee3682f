/**
 * Finds the Chromium the tests drive: $CHROMIUM_PATH, then Debian's /usr/bin/chromium, then
 * Playwright's own download. Run directly (`tsx scripts/chromium.ts`) it checks and says what
 * to install when nothing is found.
 */
import { existsSync } from 'node:fs';
import { chromium } from 'playwright';

export function findChromium(): string | undefined {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium'];
  try {
    candidates.push(chromium.executablePath());
  } catch {
    // Playwright throws when it has no browser of its own; that is fine here.
  }
  return candidates.find((p): p is string => !!p && existsSync(p));
}

export const INSTALL_HINT =
  'No Chromium found. Install one of: Debian/Ubuntu `sudo apt-get install -y chromium` (gives /usr/bin/chromium); ' +
  "Playwright's own `npx playwright install chromium`; or set CHROMIUM_PATH to a Chromium/Chrome binary.";

/**
 * Flags every test browser gets: WebGPU on (SwiftShader where there is no GPU) and no calls
 * home, which a closed network refuses anyway.
 */
export function chromiumArgs(): string[] {
  const args = [
    '--enable-unsafe-webgpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
  ];
  // Chromium refuses to sandbox as root (CI containers run as root).
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  return args;
}

export function launchOptions(): { executablePath?: string; args: string[] } {
  return { executablePath: findChromium(), args: chromiumArgs() };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const found = findChromium();
  if (!found) {
    console.error(INSTALL_HINT);
    process.exit(1);
  }
  console.log(`tests will use Chromium at ${found}`);
}
