// End-to-end tests of the review page in Firefox: a real `skriva serve` (real model, real
// SQLite) and Firefox ESR, driven by puppeteer-core over WebDriver BiDi. Firefox's fake
// microphone is a steady tone, not speech, so the live test checks capture and streaming
// (Firefox's AudioContext rate, the worklet, the frame protocol) rather than recognized text;
// the note itself comes from uploading the corpus dictation. Screenshots land in artifacts/.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  CLINICIAN, api, launchFirefox, login, openFirefoxPage, pageSections, repoRoot, screenshot,
  startServer,
} from './support.js';

const DICTATION = path.join(repoRoot, 'corpora/sv-clinical/pc10_dikt_hypertoni.wav');
const TEMPLATE = 'primarvard-aterbesok';
// Long enough for many frames to make the round trip, short enough to keep the model's work
// on the tone small.
const CAPTURE_SECONDS = 4;
// How long the pipeline may take to finish a session or a 19 s upload on a small, busy CPU.
const FINISH_TIMEOUT = 600_000;
const ADDED = ' Tillägg granskat i Firefox.';

let server;
let browser;

before(async () => {
  server = await startServer('firefox');
  browser = await launchFirefox();
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

/** Checks that a page only ever talked to the server and logged no errors. */
function assertStayedHome(session, allowedErrors = []) {
  assert.ok(session.requests.some((url) => url === server.url + '/assets/app.js'),
    `the page's own requests were recorded: ${session.requests}`);
  const foreign = session.requests.filter((url) => !url.startsWith(server.url + '/')
    && !url.startsWith(server.url.replace('http', 'ws') + '/')
    && !url.startsWith('data:') && !url.startsWith('blob:'));
  assert.deepEqual(foreign, [], 'the page requested other hosts');
  const problems = session.problems.filter((p) => !allowedErrors.some((re) => re.test(p)));
  assert.deepEqual(problems, [], 'the page logged errors');
}

async function shortcut(page, modifier, code) {
  await page.keyboard.down(modifier);
  await page.keyboard.press(code);
  await page.keyboard.up(modifier);
}

const textOf = (page, selector) => page.$eval(selector, (n) => n.textContent);
const isVisible = (page, selector) => page.$eval(selector, (n) => n.checkVisibility());
const stats = (page) => page.evaluate(() => window.skrivaDebug.stats());
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function loggedIn(session) {
  const { page } = session;
  await login(page, server, server.tokens.clinician);
  await page.waitForSelector('#app-view:not([hidden])');
  assert.equal(await textOf(page, '#user-name'), CLINICIAN.name);
  assert.equal(await page.evaluate(() => sessionStorage.getItem('skriva.token')),
    server.tokens.clinician);
  assert.doesNotMatch(page.url(), /skr_/, 'the token is not in the URL');
}

describe('review page in Firefox', () => {
  test('loads, logs in, and streams the microphone in a live session', async () => {
    const session = await openFirefoxPage(browser);
    const { page } = session;
    await loggedIn(session);
    await screenshot(page, 'firefox-logged-in');
    // The error recorder must see an error, or the last check here would pass vacuously.
    await page.evaluate(() => console.error('canary'));
    for (let i = 0; i < 50 && !session.problems.includes('canary'); i++) await sleep(100);
    assert.ok(session.problems.includes('canary'), 'console errors are recorded');

    await page.locator('#patient-ref').fill('P-2001');
    await page.select('#template', TEMPLATE);
    await page.click('input[name=mode][value=dictation]');
    await shortcut(page, 'Alt', 'KeyR');
    await page.waitForSelector('#rec-state[data-state=listening]', { timeout: 60_000 });
    const live = await stats(page);
    assert.match(live.sessionId, /^ses_/);
    assert.match(live.draftId, /^drf_/);
    // Firefox gives no sampleRate in the track's settings, so the page runs the context at
    // Firefox's own rate: whatever it is, it is a real rate the server is told.
    assert.ok(live.sampleRate >= 8000 && live.sampleRate <= 192_000,
      `sample rate ${live.sampleRate}`);

    // Frames flow only if the AudioContext really runs (Firefox may hold it suspended) and
    // the worklet gets the microphone; the server acknowledging them proves the protocol.
    const framesPerSecond = 10;
    await page.waitForFunction((seconds, frames) => {
      const s = window.skrivaDebug.stats();
      return s && s.capturedSeconds >= seconds && s.ackedSeq >= frames;
    }, { timeout: 60_000, polling: 200 }, CAPTURE_SECONDS, CAPTURE_SECONDS * framesPerSecond - 5);
    // The tone is not silence: the meter shows a level, so real samples reached the worklet.
    const level = await page.$eval('#level', (meter) => meter.value);
    assert.ok(level > 0.01, `meter level ${level}`);
    await screenshot(page, 'firefox-live');

    await shortcut(page, 'Alt', 'KeyR');
    await page.waitForSelector('#rec-state[data-state=stopped]', { timeout: FINISH_TIMEOUT });
    await page.waitForSelector('#draft-view[data-live=false]', { timeout: 30_000 });
    const done = await stats(page);
    assert.equal(done.finished, true);
    assert.equal(done.unacknowledged, 0, 'every frame was acknowledged');
    const states = await page.evaluate(() => window.__seen.states);
    // A `not_ready` answer while the model warms up shows as reconnecting; anything else
    // (failed above all) means the session broke.
    assert.deepEqual(states.filter((s) => s !== 'idle' && s !== 'reconnecting'),
      ['connecting', 'listening', 'stopping', 'stopped'], `states: ${states}`);

    const { body: state } = await api(server, server.tokens.clinician, 'GET',
      `/api/sessions/${live.sessionId}`);
    assert.equal(state.status, 'finished');
    assert.equal(state.format.sample_rate, live.sampleRate, 'the server was told the real rate');
    assert.equal(state.format.channels, 1);
    assert.equal(state.last_frame_seq, done.lastFrameSeq,
      'every captured frame reached the server');
    await screenshot(page, 'firefox-live-done');
    assertStayedHome(session, [/^canary$/]);
    await session.context.close();
  });

  test('an uploaded dictation becomes a draft that is edited, saved and signed', async () => {
    const session = await openFirefoxPage(browser);
    const { page } = session;
    await loggedIn(session);
    await page.locator('#patient-ref').fill('P-2002');
    // The clip is a first-visit dictation: the template whose prompt it is dictated for.
    await page.select('#template', 'primarvard-lakarbesok');
    await page.click('#upload-box summary');
    const input = await page.waitForSelector('#upload-file');
    await input.uploadFile(DICTATION);
    assert.equal(await page.$eval('#upload-file', (n) => n.files[0] && n.files[0].name),
      path.basename(DICTATION));
    await page.click('#upload-button');
    await page.waitForSelector('#upload-progress-box:not([hidden])');
    await page.waitForSelector('#draft-view:not([hidden])', { timeout: FINISH_TIMEOUT });
    assert.match(await textOf(page, '#upload-status'), /Klar/);
    assert.equal(await page.$eval('#upload-progress', (p) => p.value), 100);
    const draftId = await page.$eval('#draft-list .current', (n) => n.dataset.draftId);
    const token = server.tokens.clinician;
    const { body: draft } = await api(server, token, 'GET', `/api/drafts/${draftId}`);
    assert.equal(draft.status, 'draft');
    const headed = draft.sections.filter((s) => s.heading && s.text.trim());
    assert.ok(headed.length > 0,
      `the upload was structured into sections: ${JSON.stringify(draft.sections)}`);
    const sections = await pageSections(page);
    for (const section of headed) {
      const block = sections.find((s) => s.heading === section.heading);
      assert.ok(block, `a block for ${section.heading}`);
      assert.equal(block.text, section.text.trim());
      assert.ok(block.editable, `${section.heading} is editable`);
    }
    await screenshot(page, 'firefox-upload');

    // Typing into a plaintext-only contenteditable block, then reading it back as the text
    // to save, is where browsers differ most (Firefox's innerText and trailing <br>).
    const target = headed[0];
    const selector = `#sections .note-section[data-heading="${target.heading}"] .section-text`;
    await page.click(selector);
    await shortcut(page, 'Control', 'End');
    await page.keyboard.type(ADDED);
    assert.equal(await textOf(page, '#save-status'), 'Osparade ändringar');
    await shortcut(page, 'Control', 'KeyS');
    await page.waitForFunction(
      () => /Sparad/.test(document.getElementById('save-status').textContent));
    const { body: saved } = await api(server, token, 'GET', `/api/drafts/${draftId}`);
    assert.equal(saved.status, 'edited');
    assert.equal(saved.sections.find((s) => s.heading === target.heading).text,
      target.text.trim() + ADDED, 'the edit was saved as typed, with nothing else');
    for (const section of headed.slice(1)) {
      assert.equal(saved.sections.find((s) => s.heading === section.heading).text, section.text,
        `${section.heading} is unchanged`);
    }
    await screenshot(page, 'firefox-edited');

    await shortcut(page, 'Alt', 'KeyG');
    await page.waitForSelector('#sign-dialog[open]');
    assert.match(await textOf(page, '#sign-who'),
      new RegExp(`${CLINICIAN.name} \\(${CLINICIAN.hsa}\\)`));
    await screenshot(page, 'firefox-sign-dialog');
    await page.click('#sign-confirm');
    await page.waitForSelector('#signed-banner:not([hidden])');
    assert.match(await textOf(page, '#signed-banner'), /skrivskyddad/);
    const { body: signed } = await api(server, token, 'GET', `/api/drafts/${draftId}`);
    assert.equal(signed.status, 'signed');
    assert.equal(signed.signed_by, CLINICIAN.hsa);
    assert.equal(signed.sections.find((s) => s.heading === target.heading).text,
      target.text.trim() + ADDED, 'the signed note is the saved one');
    assert.ok((await pageSections(page)).every((s) => !s.editable), 'read-only after signing');
    assert.equal(await isVisible(page, '#sign'), false);
    assert.equal(await isVisible(page, '#save'), false);
    assert.match(await textOf(page, `#draft-list button[data-draft-id="${draftId}"]`), /Signerad/);
    await screenshot(page, 'firefox-signed');
    assertStayedHome(session);
    await session.context.close();
  });

  test('without an audio output, the page says so instead of listening to nothing', async () => {
    // Firefox keeps the AudioContext suspended when it has no output to open: the microphone
    // is open, but no sample ever reaches the worklet.
    const mute = await launchFirefox({ audioOutput: false });
    try {
      const session = await openFirefoxPage(mute);
      const { page } = session;
      await loggedIn(session);
      await page.locator('#patient-ref').fill('P-2003');
      await shortcut(page, 'Alt', 'KeyR');
      await page.waitForSelector('#rec-state[data-state=failed]', { timeout: 60_000 });
      assert.match(await textOf(page, '#rec-error'), /ljudmotor/);
      const states = await page.evaluate(() => window.__seen.states);
      assert.ok(!states.includes('listening'), `it never claimed to listen: ${states}`);
      const { sessionId } = await stats(page);
      const { body: state } = await api(server, server.tokens.clinician, 'GET',
        `/api/sessions/${sessionId}`);
      assert.equal(state.last_frame_seq, 0);
      await screenshot(page, 'firefox-no-audio-output');
      assertStayedHome(session);
      await session.context.close();
    } finally {
      await mute.close();
    }
  });
});
