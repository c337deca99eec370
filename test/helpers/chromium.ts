/**
 * Debian's chromium (installed by scripts/setup) driven by playwright-core: browser tests never
 * download a browser. `launchChromium` fails with the fix when it is missing.
 */
import assert from 'node:assert/strict';
import { accessSync, constants } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function chromiumInstalled(): boolean {
  try {
    accessSync(CHROMIUM, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function launchChromium(): Promise<Browser> {
  assert.ok(
    chromiumInstalled(),
    `Debian's chromium is missing (${CHROMIUM}): scripts/setup installs it as root (apt-get install chromium); this test never downloads a browser`,
  );
  return chromium.launch({ executablePath: CHROMIUM, headless: true });
}
