// A real browser for the studio's tests: Debian's chromium driven by playwright-core (no browser
// download; `npm test` installs the package when it is missing, see tools/setup.sh).
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

/** REELBUS_CHROMIUM, else Debian's /usr/bin/chromium. */
export const CHROMIUM_PATH = process.env.REELBUS_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** H.264 High (avc1.640028) + AAC-LC (mp4a.40.2) in MP4: what reelbus delivers. */
export const DELIVERY_MIME = 'video/mp4; codecs="avc1.640028,mp4a.40.2"';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(
      `no chromium at ${CHROMIUM_PATH}: run "bash tools/setup.sh --tests" (installs Debian's chromium) or set REELBUS_CHROMIUM`,
    );
  }
  return chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS });
}

/** Where this run's screenshots go: REELBUS_SCREENSHOTS (CI artifacts), else a fresh temp dir. */
export function screenshotDir(): string {
  const dir = process.env.REELBUS_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'reelbus-studio-shots-'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** True when the page scrolls sideways (content wider than the viewport). */
export function scrollsSideways(page: Page): Promise<boolean> {
  // A string: it runs in the browser, and tools/ is type-checked without the DOM library.
  return page.evaluate('document.documentElement.scrollWidth > window.innerWidth + 0.5') as Promise<boolean>;
}
