// Test support: a real `skriva serve` on a free 127.0.0.1 port with a fresh data directory and
// users made by `skriva user add`, Debian's Chromium driven by playwright-core with a corpus
// WAV as its fake microphone, and small helpers for the API and for artifacts.

import { execFileSync, spawn } from 'node:child_process';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repoRoot = path.resolve(here, '../../..');
export const artifactsDir = path.join(here, 'artifacts');
export const skrivaBin = process.env.SKRIVA_BIN || path.join(repoRoot, 'target/release/skriva');
export const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

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
 * loaded. Its log goes to artifacts/server-NAME.log.
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
    'serve', '--addr', `127.0.0.1:${port}`, '--data', dataDir, '--log', 'info', ...extraArgs,
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
  const requests = [];
  const problems = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(String(error)));
  // Remember which connection states and live texts the page showed, however briefly.
  await page.addInitScript(() => {
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
  });
  return { context, page, requests, problems };
}

export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(artifactsDir, name + '.png'), fullPage: true });
}

/** Logs in through the form. */
export async function login(page, server, token) {
  await page.goto(server.url + '/');
  await page.fill('#token', token);
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
