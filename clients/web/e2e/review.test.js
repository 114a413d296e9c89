// End-to-end tests of the review page: a real `skriva serve` (real model, real SQLite) and
// Debian's headless Chromium whose fake microphone plays a corpus dictation with spoken
// headings. Screenshots land in artifacts/.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  CLINICIAN, api, launchBrowser, login, openPage, pageSections, repoRoot, screenshot,
  startServer, waitForCaptured, wavSeconds, words,
} from './support.js';

const DICTATION = path.join(repoRoot, 'corpora/sv-clinical/pc10_dikt_hypertoni.wav');
// Spoken in the dictation, in this order: "Kontaktorsak kolon … Status kolon … Bedömning kolon
// … Åtgärd kolon …".
const SPOKEN_HEADINGS = ['Kontaktorsak', 'Status', 'Bedömning', 'Åtgärd'];
const TEMPLATE = 'primarvard-aterbesok';
// Silence the fake microphone gives after the clip, before the test stops: the pause that ends
// the last utterance.
const TAIL_SILENCE_S = 2;
// How long the pipeline may take to finish a 19 s dictation on a small, busy CPU.
const FINISH_TIMEOUT = 600_000;

const clipSeconds = wavSeconds(DICTATION);
let server;
let browser;

before(async () => {
  server = await startServer('review');
  browser = await launchBrowser(DICTATION);
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.stop();
});

/** Checks that a page only ever talked to the server and logged no errors. */
function assertStayedHome(session, allowedErrors = [], home = server) {
  const foreign = session.requests.filter((url) => !url.startsWith(home.url + '/')
    && !url.startsWith(home.url.replace('http', 'ws') + '/')
    && !url.startsWith('data:') && !url.startsWith('blob:'));
  assert.deepEqual(foreign, [], 'the page requested other hosts');
  const problems = session.problems.filter((p) => !allowedErrors.some((re) => re.test(p)));
  assert.deepEqual(problems, [], 'the page logged errors');
}

/** Starts a dictation from the page; returns the session and draft ids. */
async function startDictation(page, patientRef) {
  await page.fill('#patient-ref', patientRef);
  await page.selectOption('#template', TEMPLATE);
  await page.check('input[name=mode][value=dictation]');
  await page.keyboard.press('Alt+R');
  await page.waitForSelector('#rec-state[data-state=listening]', { timeout: 60_000 });
  const stats = await page.evaluate(() => window.skrivaDebug.stats());
  assert.match(stats.sessionId, /^ses_/);
  assert.match(stats.draftId, /^drf_/);
  return stats;
}

/** Lets the whole clip play (and part of its trailing silence), then stops with the shortcut. */
async function finishDictation(page) {
  await waitForCaptured(page, clipSeconds + TAIL_SILENCE_S);
  await page.keyboard.press('Alt+R');
  await page.waitForSelector('#rec-state[data-state=stopped]', { timeout: FINISH_TIMEOUT });
  await page.waitForSelector('#draft-view[data-live=false]', { timeout: 30_000 });
  return page.evaluate(() => window.skrivaDebug.stats());
}

describe('review page', () => {
  test('the page is served with a strict CSP and no third-party assets', async () => {
    const response = await fetch(server.url + '/');
    assert.equal(response.status, 200);
    const csp = response.headers.get('content-security-policy');
    assert.match(csp, /default-src 'self'/);
    assert.match(csp, /connect-src 'self' ws: wss:/);
    const html = await response.text();
    assert.doesNotMatch(html, /https?:\/\//, 'the page names no other host');
    for (const asset of ['app.js', 'live.js', 'capture-worklet.js', 'style.css']) {
      const res = await fetch(server.url + '/assets/' + asset);
      assert.equal(res.status, 200, asset);
      assert.doesNotMatch(await res.text(), /https?:\/\/(?!127\.)/, asset + ' names no other host');
    }
  });

  test('a wrong token is refused and nothing is stored', async () => {
    const session = await openPage(browser, server);
    const { page } = session;
    await login(page, server, 'skr_0000000000000000000000000000000000000000000000000000000000000000');
    await page.waitForSelector('#login-error:not([hidden])');
    assert.match(await page.textContent('#login-error'), /Fel token/);
    assert.equal(await page.isHidden('#app-view'), true);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('skriva.token')), null);
    // The stream refuses the same token before the upgrade.
    const opened = await page.evaluate((url) => new Promise((resolve) => {
      const ws = new WebSocket(url.replace('http', 'ws') + '/api/sessions/ses_x/stream',
        ['skriva.v1', 'bearer.skr_wrong']);
      ws.onopen = () => resolve(true);
      ws.onclose = () => resolve(false);
    }), server.url);
    assert.equal(opened, false);
    await screenshot(page, 'wrong-token');
    // The refused calls (401 from /api/me and the stream) are logged by the browser itself.
    assertStayedHome(session, [/401/, /WebSocket/]);
    await session.context.close();
  });

  test('dictate, see text arrive under its headings, edit, resolve a conflict, sign', async () => {
    const session = await openPage(browser, server);
    const { page } = session;
    await login(page, server, server.tokens.clinician);
    await page.waitForSelector('#app-view:not([hidden])');
    assert.equal(await page.textContent('#user-name'), CLINICIAN.name);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('skriva.token')),
      server.tokens.clinician);
    assert.doesNotMatch(page.url(), /skr_/, 'the token is not in the URL');

    const live = await startDictation(page, 'P-1001');
    // Live: the open utterance's stable text (solid) and partial (grey) after the sections.
    await page.waitForFunction(() => window.__seen.stable, null, { timeout: FINISH_TIMEOUT });
    await screenshot(page, 'dictation-live');
    assert.equal(await page.$eval('#draft-view', (n) => n.dataset.live), 'true');
    assert.ok((await pageSections(page)).every((s) => !s.editable), 'read-only while recording');
    const stats = await finishDictation(page);
    assert.ok(await page.evaluate(() => window.__seen.liveSection),
      'finals showed up under a heading before the session closed');
    await screenshot(page, 'dictation-done');

    // The draft on the server, and the same sections on the page, in template order.
    const { body: draft } = await api(server, server.tokens.clinician, 'GET', `/api/drafts/${live.draftId}`);
    assert.equal(draft.status, 'draft');
    const headed = draft.sections.filter((s) => s.heading && s.text.trim());
    const found = SPOKEN_HEADINGS.filter((h) => headed.some((s) => s.heading === h));
    assert.ok(found.length >= 3, `spoken headings became sections: ${JSON.stringify(draft.sections)}`);
    const sections = await pageSections(page);
    for (const section of headed) {
      const block = sections.find((s) => s.heading === section.heading);
      assert.ok(block, `a block for ${section.heading}`);
      assert.equal(block.text, section.text.trim());
      assert.ok(block.editable, `${section.heading} is editable after stopping`);
    }
    const templates = (await api(server, server.tokens.clinician, 'GET', '/api/templates')).body.items;
    const order = templates.find((t) => t.id === TEMPLATE).headings;
    const shown = sections.map((s) => s.heading).filter((h) => order.includes(h));
    assert.deepEqual(shown, order, 'one block per template heading, in template order');
    const session1 = (await api(server, server.tokens.clinician, 'GET', `/api/sessions/${live.sessionId}`)).body;
    assert.equal(session1.last_frame_seq, stats.lastFrameSeq, 'every captured frame reached the server');

    // Edit one section; the diff shows it; save with Ctrl+S.
    const target = headed.find((s) => s.heading === 'Bedömning') || headed[0];
    const block = page.locator(`#sections .note-section[data-heading="${target.heading}"] .section-text`);
    await block.click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type(' Tillägg vid granskning.');
    assert.equal(await page.textContent('#save-status'), 'Osparade ändringar');
    await page.click('#toggle-diff');
    assert.match(await page.textContent('#diff-left-title'), /Genererat av Skriva/);
    const inserted = await page.$$eval('#diff ins', (nodes) => nodes.map((n) => n.textContent).join(''));
    assert.match(inserted, /Tillägg vid granskning/);
    await screenshot(page, 'edited-diff');
    await page.keyboard.press('Control+S');
    await page.waitForFunction(() => /Sparad/.test(document.getElementById('save-status').textContent));
    let saved = (await api(server, server.tokens.clinician, 'GET', `/api/drafts/${live.draftId}`)).body;
    assert.equal(saved.status, 'edited');
    assert.match(saved.sections.find((s) => s.heading === target.heading).text, /Tillägg vid granskning\.$/);
    for (const section of headed.filter((s) => s.heading !== target.heading)) {
      assert.equal(saved.sections.find((s) => s.heading === section.heading).text, section.text,
        `${section.heading} is unchanged`);
    }

    // Another tab saves first: this tab's save is refused and reported, not written over.
    const other = await session.context.newPage();
    await login(other, server, server.tokens.clinician);
    await other.click(`#draft-list button[data-draft-id="${live.draftId}"]`);
    await other.waitForSelector('#draft-view:not([hidden])');
    const otherBlock = other.locator(`#sections .note-section[data-heading="${target.heading}"] .section-text`);
    await otherBlock.click();
    await other.keyboard.press('Control+End');
    await other.keyboard.type(' Från andra fliken.');
    await other.click('#save');
    await other.waitForFunction(() => /Sparad/.test(document.getElementById('save-status').textContent));
    await block.click();
    await page.keyboard.press('Control+End');
    await page.keyboard.type(' Skrivet i första fliken.');
    await page.click('#save');
    await page.waitForSelector('#conflict-banner:not([hidden])');
    await screenshot(page, 'conflict');
    saved = (await api(server, server.tokens.clinician, 'GET', `/api/drafts/${live.draftId}`)).body;
    const savedText = saved.sections.find((s) => s.heading === target.heading).text;
    assert.match(savedText, /Från andra fliken\./);
    assert.doesNotMatch(savedText, /första fliken/, 'the conflicting edit was not written');
    await page.click('#conflict-reload');
    await page.waitForFunction(
      (h) => /Från andra fliken/.test(document.querySelector(`.note-section[data-heading="${h}"]`).innerText),
      target.heading,
    );
    await other.close();

    // Sign with the shortcut: the dialog names the signer and Skriva; then read-only.
    await page.keyboard.press('Alt+G');
    await page.waitForSelector('#sign-dialog[open]');
    assert.match(await page.textContent('#sign-who'), new RegExp(`${CLINICIAN.name} \\(${CLINICIAN.hsa}\\)`));
    assert.match(await page.textContent('#sign-dialog'), /genererad av Skriva/);
    await screenshot(page, 'sign-dialog');
    await page.click('#sign-confirm');
    await page.waitForSelector('#signed-banner:not([hidden])');
    assert.match(await page.textContent('#signed-banner'), /skrivskyddad/);
    const signed = (await api(server, server.tokens.clinician, 'GET', `/api/drafts/${live.draftId}`)).body;
    assert.equal(signed.status, 'signed');
    assert.equal(signed.signed_by, CLINICIAN.hsa);
    assert.ok((await pageSections(page)).every((s) => !s.editable), 'read-only after signing');
    assert.equal(await page.isHidden('#sign'), true);
    assert.equal(await page.isHidden('#save'), true);
    // The signed note is listed after unsigned ones and marked as signed.
    assert.match(await page.textContent(`#draft-list button[data-draft-id="${live.draftId}"]`), /Signerad/);
    await screenshot(page, 'signed');
    assertStayedHome(session, [/412/]);
    await session.context.close();
  });

  test('a dropped connection during dictation loses no audio', async () => {
    // Its own server without partial decodes: this test needs only finals, and a small CPU
    // finishes sooner.
    const quiet = await startServer('reconnect', ['--no-partials']);
    try {
      const session = await openPage(browser, quiet);
      const { page } = session;
      await login(page, quiet, quiet.tokens.clinician);
      await page.waitForSelector('#app-view:not([hidden])');
      const live = await startDictation(page, 'P-1002');
      await waitForCaptured(page, 6);
      // Drop the socket mid-sentence and keep the network down for 3 s of speech.
      await page.evaluate(() => window.skrivaDebug.dropConnection(3000));
      await page.waitForSelector('#rec-state[data-state=reconnecting]', { timeout: 10_000 });
      const during = await page.evaluate(() => window.skrivaDebug.stats());
      await screenshot(page, 'reconnecting');
      await page.waitForSelector('#rec-state[data-state=listening]', { timeout: 60_000 });
      const stats = await finishDictation(page);
      const states = await page.evaluate(() => window.__seen.states);
      assert.ok(states.indexOf('reconnecting') > states.indexOf('listening'), `states: ${states}`);
      assert.ok(stats.lastFrameSeq > during.lastFrameSeq, 'capture went on through the drop');
      assert.equal(stats.unacknowledged, 0, 'every frame was acknowledged in the end');

      const token = quiet.tokens.clinician;
      const state = (await api(quiet, token, 'GET', `/api/sessions/${live.sessionId}`)).body;
      assert.equal(state.status, 'finished');
      // Frames are accepted only in order without gaps, so the server holding the last one
      // means it holds them all: the audio captured while the network was down was re-sent.
      assert.equal(state.last_frame_seq, stats.lastFrameSeq,
        'the server holds every frame the page captured, none lost across the drop');
      const draft = (await api(quiet, token, 'GET', `/api/drafts/${live.draftId}`)).body;
      assert.ok(draft.text.trim(), 'the draft has text');
      assert.ok(words(draft.text).length >= 10, `the whole dictation is in the draft: ${draft.text}`);
      await screenshot(page, 'reconnected-done');
      assertStayedHome(session, [], quiet);
      await session.context.close();
    } finally {
      await quiet.stop();
    }
  });

  test('an uploaded file shows its progress and becomes a draft', async () => {
    const session = await openPage(browser, server);
    const { page } = session;
    await login(page, server, server.tokens.clinician);
    await page.waitForSelector('#app-view:not([hidden])');
    await page.fill('#patient-ref', 'P-1003');
    // The clip is a first-visit dictation: the template whose prompt it is dictated for.
    await page.selectOption('#template', 'primarvard-lakarbesok');
    await page.click('#upload-box summary');
    await page.setInputFiles('#upload-file', DICTATION);
    await page.click('#upload-button');
    await page.waitForSelector('#upload-progress-box:not([hidden])');
    await page.waitForSelector('#draft-view:not([hidden])', { timeout: FINISH_TIMEOUT });
    assert.match(await page.textContent('#upload-status'), /Klar/);
    assert.equal(await page.$eval('#upload-progress', (p) => p.value), 100);
    const sections = await pageSections(page);
    assert.ok(sections.some((s) => s.heading && s.text), 'the upload was structured into sections');
    // A suggested code goes into the note only when clicked (under Diagnos, the template has it).
    const codes = await page.$$eval('#codes button', (n) => n.map((b) => b.dataset.code));
    assert.ok(codes.length > 0, 'the dictated diagnosis got a code suggestion');
    const diagnosis = () => page.$eval('.note-section[data-heading="Diagnos"] .section-text',
      (n) => n.innerText);
    assert.ok(!(await diagnosis()).includes(codes[0]), 'not in the note before the click');
    await page.click(`#codes button[data-code="${codes[0]}"]`);
    assert.ok((await diagnosis()).includes(codes[0]), 'in the note after the click');
    assert.equal(await page.textContent('#save-status'), 'Osparade ändringar');
    await screenshot(page, 'upload');
    await page.keyboard.press('Control+S');
    await page.waitForFunction(() => /Sparad/.test(document.getElementById('save-status').textContent));
    // The list puts unsigned notes first and finds notes by patient reference: sign this one
    // and start another (an unsigned, empty draft) through the API.
    const token = server.tokens.clinician;
    const uploaded = await page.$eval('#draft-list .current', (n) => n.dataset.draftId);
    const current = (await api(server, token, 'GET', `/api/drafts/${uploaded}`)).body;
    assert.ok(current.sections.some((s) => s.text.includes(codes[0])), 'the added code was saved');
    const signed = await api(server, token, 'POST', `/api/drafts/${uploaded}/sign`,
      { headers: { 'If-Match': String(current.version) } });
    assert.equal(signed.status, 200);
    const other = await api(server, token, 'POST', '/api/sessions',
      { body: { mode: 'ambient', patient_ref: 'P-1004', template: TEMPLATE } });
    assert.equal(other.status, 201);
    await page.click('#search-form button');
    await page.waitForSelector(`#draft-list button[data-draft-id="${other.body.draft_id}"]`);
    const listed = await page.$$eval('#draft-list .badge', (n) => n.map((b) => b.textContent));
    const firstSigned = listed.indexOf('Signerad');
    assert.ok(firstSigned > 0, `a signed note after an unsigned one: ${listed}`);
    assert.ok(listed.slice(firstSigned).every((b) => b === 'Signerad'), `unsigned first: ${listed}`);
    await page.fill('#search-patient', 'P-1003');
    await page.click('#search-form button');
    await page.waitForFunction(() => document.querySelectorAll('#draft-list li').length === 1);
    assert.match(await page.textContent('#draft-list'), /P-1003/);
    assertStayedHome(session);
    await session.context.close();
  });
});
