// Test support: a real `skriva serve` on a free 127.0.0.1 port with a fresh data directory and
// users made by `skriva user add`, Debian's Chromium driven by playwright-core with a corpus
// WAV as its fake microphone, Firefox ESR driven by puppeteer-core over WebDriver BiDi, and
// small helpers for the API and for artifacts.

import { execFileSync, spawn } from 'node:child_process';
import {
  createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import puppeteer from 'puppeteer-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
export const artifactsDir = path.join(here, 'artifacts');
export const skrivaBin = process.env.SKRIVA_BIN || path.join(repoRoot, 'target/release/skriva');
export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
export const firefoxPath = process.env.FIREFOX || '/usr/bin/firefox-esr';
export const pulseaudioPath = process.env.PULSEAUDIO || '/usr/bin/pulseaudio';

mkdirSync(artifactsDir, { recursive: true });

export const CLINICIAN = { name: 'Anna Läkare', role: 'clinician', hsa: 'SE2321000016-ABC1' };
export const SECOND_CLINICIAN = { name: 'Bo Doktor', role: 'clinician', hsa: 'SE2321000016-XYZ9' };

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function addUser(dataDir, user) {
  const out = execFileSync(skrivaBin, [
    'user', 'add', user.name, '--role', user.role, '--hsa-id', user.hsa, '--data', dataDir,
  ], { encoding: 'utf8' });
  const match = out.match(/token \(shown once\): (\S+)/);
  if (!match) throw new Error('no token in `skriva user add` output: ' + out);
  return match[1];
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Starts `skriva serve` (with `extraArgs`) with two clinicians; resolves once the model is
 * loaded. Its log goes to artifacts/server-NAME.log, at SKRIVA_E2E_LOG's level (default info;
 * e.g. "info,skriva_engine::stream=trace" shows every live re-decode).
 */
export async function startServer(name, extraArgs = []) {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'skriva-e2e-'));
  const tokens = {
    clinician: addUser(dataDir, CLINICIAN),
    second: addUser(dataDir, SECOND_CLINICIAN),
  };
  const port = await freePort();
  const log = createWriteStream(path.join(artifactsDir, `server-${name}.log`));
  const child = spawn(skrivaBin, [
    'serve', '--addr', `127.0.0.1:${port}`, '--data', dataDir,
    '--log', process.env.SKRIVA_E2E_LOG || 'info', ...extraArgs,
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.once('exit', (code, signal) => {
    exited = { code, signal };
  });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (exited) throw new Error(`skriva serve exited early (${JSON.stringify(exited)}); see ${log.path}`);
    if (Date.now() > deadline) throw new Error('skriva serve did not become ready within 180 s');
    try {
      const response = await fetch(url + '/readyz');
      if (response.ok) break;
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  return {
    url,
    tokens,
    dataDir,
    async stop() {
      if (!exited) {
        const done = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([done, sleep(10_000)]);
        if (!exited) child.kill('SIGKILL');
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Calls the API with `token`; returns `{status, body}`. */
export async function api(server, token, method, pathname, { body, headers = {} } = {}) {
  const init = { method, headers: { Authorization: 'Bearer ' + token, ...headers } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  const response = await fetch(server.url + pathname, init);
  const text = await response.text();
  let parsed = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Plain text.
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

/** Length of a PCM WAV file in seconds. */
export function wavSeconds(file) {
  const bytes = readFileSync(file);
  if (bytes.toString('ascii', 0, 4) !== 'RIFF' || bytes.toString('ascii', 8, 12) !== 'WAVE') {
    throw new Error(file + ' is not a WAV file');
  }
  let offset = 12;
  let byteRate = 0;
  while (offset + 8 <= bytes.length) {
    const id = bytes.toString('ascii', offset, offset + 4);
    const size = bytes.readUInt32LE(offset + 4);
    if (id === 'fmt ') byteRate = bytes.readUInt32LE(offset + 8 + 8);
    if (id === 'data' && byteRate) return size / byteRate;
    offset += 8 + size + (size % 2);
  }
  throw new Error(file + ' has no fmt or data chunk');
}

/** Headless Chromium whose microphone plays `wavPath` once, then silence. */
export async function launchBrowser(wavPath) {
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
  ];
  if (wavPath) args.push(`--use-file-for-fake-audio-capture=${wavPath}%noloop`);
  return chromium.launch({ executablePath: chromiumPath, headless: true, args });
}

/**
 * A page on `server` that records every request it makes and every console error, so a test
 * can check that nothing left the server and nothing broke (a CSP violation is an error).
 */
export async function openPage(browser, server) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'sv-SE' });
  await context.grantPermissions(['microphone'], { origin: server.url });
  const page = await context.newPage();
  const recorded = recordPage(page);
  await page.addInitScript(watchPage);
  return { context, page, ...recorded };
}

/**
 * Records every request `page` makes and every console error and uncaught exception (a CSP
 * violation is an error). Playwright's and Puppeteer's pages share these events.
 */
function recordPage(page) {
  const requests = [];
  const problems = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(String(error)));
  return { requests, problems };
}

/**
 * Runs in the page before its own scripts: remembers which connection states and live texts
 * the page showed, however briefly, in `window.__seen`.
 */
function watchPage() {
  window.__seen = { states: [], stable: false, partial: false, liveSection: false };
  new MutationObserver(() => {
    const state = document.getElementById('rec-state');
    if (state && window.__seen.states.at(-1) !== state.dataset.state) {
      window.__seen.states.push(state.dataset.state);
    }
    const stable = document.querySelector('#live-tail .stable');
    if (stable && stable.textContent.trim()) window.__seen.stable = true;
    const partial = document.querySelector('#live-tail .partial');
    if (partial && partial.textContent.trim()) window.__seen.partial = true;
    const draft = document.getElementById('draft-view');
    if (draft && draft.dataset.live === 'true' && [...draft.querySelectorAll('.note-section')]
      .some((s) => s.dataset.heading && s.querySelector('.section-text').textContent.trim())) {
      window.__seen.liveSection = true;
    }
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
}

/** The page's section blocks: [{heading, text, editable}] (Playwright or Puppeteer page). */
export function pageSections(page) {
  return page.$$eval('#sections .note-section', (nodes) => nodes.map((node) => {
    const text = node.querySelector('.section-text');
    return {
      heading: node.dataset.heading,
      text: text.innerText.trim(),
      editable: text.isContentEditable,
    };
  }));
}

/**
 * A private PulseAudio server whose only output is a null sink. Firefox keeps every
 * AudioContext suspended until it has opened an audio output, so on a machine without a sound
 * card (or a server) the page could never capture; Chromium needs no such thing.
 */
async function startSoundServer() {
  if (!existsSync(pulseaudioPath)) {
    // A desktop with PipeWire has no pulseaudio to start, but a server of its own to use.
    const runtime = process.env.XDG_RUNTIME_DIR;
    const own = runtime && path.join(runtime, 'pulse/native');
    if (own && existsSync(own)) return { env: { PULSE_SERVER: 'unix:' + own }, stop() {} };
    throw new Error(`no ${pulseaudioPath} and no sound server: Firefox cannot run Web Audio `
      + 'without an audio output (scripts/install-deps.sh installs pulseaudio)');
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'skriva-pulse-'));
  const socket = path.join(dir, 'native');
  const log = createWriteStream(path.join(artifactsDir, 'pulseaudio.log'));
  const child = spawn(pulseaudioPath, [
    '--daemonize=no', '-n', '--exit-idle-time=-1', '--use-pid-file=no',
    '--realtime=no', '--high-priority=no', '--log-target=stderr',
    '--load=module-null-sink sink_name=skriva_null',
    `--load=module-native-protocol-unix auth-anonymous=1 socket=${socket}`,
  ], {
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own home and runtime directory: no cookie or state of the user's own sound server.
    env: { ...process.env, HOME: dir, XDG_RUNTIME_DIR: dir, XDG_CONFIG_HOME: dir },
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  let exited = null;
  child.once('error', (error) => {
    exited = error;
  });
  child.once('exit', (code, signal) => {
    exited = exited || { code, signal };
  });
  const deadline = Date.now() + 20_000;
  while (!existsSync(socket)) {
    if (exited) {
      throw new Error(`${pulseaudioPath} failed (${exited.message || JSON.stringify(exited)}); `
        + `see ${log.path}`);
    }
    if (Date.now() > deadline) throw new Error('pulseaudio did not open its socket within 20 s');
    await sleep(100);
  }
  return {
    // The client's cookie too, or libpulse in Firefox writes one into the user's home.
    env: { PULSE_SERVER: 'unix:' + socket, PULSE_COOKIE: path.join(dir, 'client-cookie') },
    stop() {
      if (!exited) child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Headless Firefox with its built-in fake microphone (a steady tone, so it proves capture and
 * streaming but gives no speech) and no permission prompt. Playwright's Firefox needs its own
 * patched build; puppeteer-core drives the stock browser over WebDriver BiDi instead. With
 * `audioOutput: false` it has no audio output at all, as on a machine without a sound card.
 */
export async function launchFirefox({ audioOutput = true } = {}) {
  const sound = audioOutput ? await startSoundServer() : null;
  const env = sound ? { ...process.env, ...sound.env } : process.env;
  let browser;
  try {
    browser = await puppeteer.launch({
      browser: 'firefox',
      executablePath: firefoxPath,
      headless: true,
      env,
      defaultViewport: { width: 1280, height: 900 },
      extraPrefsFirefox: {
        'media.navigator.streams.fake': true,
        'media.navigator.permission.disabled': true,
        'intl.accept_languages': 'sv-SE, sv',
        // Firefox's own switch for "no audio device", whatever the machine has.
        'media.cubeb.force_null_context': !audioOutput,
      },
    });
  } catch (error) {
    if (sound) sound.stop();
    throw error;
  }
  if (sound) browser.once('disconnected', () => sound.stop());
  return browser;
}

/**
 * A Firefox page (in its own browser context) that records what `openPage` records: every
 * request, every console error and uncaught exception, and the connection states shown.
 */
export async function openFirefoxPage(browser) {
  const context = await browser.createBrowserContext();
  const page = await context.newPage();
  const recorded = recordPage(page);
  await page.evaluateOnNewDocument(watchPage);
  return { context, page, ...recorded };
}

export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(artifactsDir, name + '.png'), fullPage: true });
}

/** Logs in through the form (a playwright or a puppeteer page: both have these calls). */
export async function login(page, server, token) {
  await page.goto(server.url + '/');
  await page.locator('#token').fill(token);
  await page.click('#login-form button[type=submit]');
}

/** Waits until the page's live session has captured `seconds` of audio. */
export async function waitForCaptured(page, seconds, timeout = 120_000) {
  await page.waitForFunction(
    (s) => window.skrivaDebug.stats() && window.skrivaDebug.stats().capturedSeconds >= s,
    seconds, { timeout, polling: 200 },
  );
}

/** Words of a text, lower-cased, without punctuation. */
export function words(text) {
  return (text.toLowerCase().match(/[\p{L}\p{N}]+/gu) || []);
}
