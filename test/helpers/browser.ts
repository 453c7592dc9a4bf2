/** Debian's Chromium driven by playwright-core (never a downloaded browser). */
import { execFileSync } from 'node:child_process';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs], headless: true });
}

/** Builds the page once per test run, so tests serve what `npm start` serves. */
export function buildPage(): void {
  execFileSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--logLevel', 'error'], { stdio: 'inherit' });
}

/**
 * Debian's Firefox ESR, headless, driven by puppeteer-core over WebDriver BiDi (never a downloaded build).
 * Autoplay is allowed, as the Chromium flag allows it there, and sound goes to a mock output (this machine has
 * no sound device: without one, Firefox never starts an AudioContext, so nothing played can be heard).
 */
export async function launchFirefox(): Promise<FirefoxBrowser> {
  const { default: puppeteer } = await import('puppeteer-core');
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: process.env.FIREFOX ?? '/usr/bin/firefox-esr',
    headless: true,
    extraPrefsFirefox: {
      'media.autoplay.default': 0,
      'media.autoplay.blocking_policy': 0,
      'media.autoplay.block-webaudio': false,
      'media.cubeb.force_mock_context': true,
    },
  });
}

export type FirefoxBrowser = import('puppeteer-core').Browser;
