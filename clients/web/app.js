// The clinician review page: log in with a token, dictate (or upload) a note, watch the text
// arrive under its headings, correct it section by section, and sign it. Talks only to the
// server that served it (docs/protocol.md).

import { Api, ApiError, storedToken, storeToken, forgetToken } from './api.js';
import { LiveSession, State } from './live.js';
import {
  noteBlocks, lowConfidenceRanges, sectionMarks, renderMarked, setEditable, blockText,
} from './editor.js';
import { diffWords } from './diff.js';

const $ = (id) => document.getElementById(id);

const STATE_LABELS = {
  [State.CONNECTING]: 'Ansluter…',
  [State.LISTENING]: 'Lyssnar',
  [State.RECONNECTING]: 'Återansluter…',
  [State.STOPPING]: 'Avslutar…',
  [State.STOPPED]: 'Stoppad',
  [State.FAILED]: 'Avbruten',
};

const STATUS_LABELS = { draft: 'Utkast', edited: 'Redigerad', signed: 'Signerad' };
const ROLE_LABELS = { clinician: 'läkare', secretary: 'sekreterare', admin: 'administratör' };

const app = {
  api: null,
  me: null,
  templates: [],
  draft: null, // the draft shown
  blocks: [], // [{heading, element}]
  generated: new Map(), // draft id → sections as Skriva generated them
  dirty: false,
  editable: false,
  live: null, // LiveSession while recording
  liveSession: null, // {id, draft_id}
  liveTail: { stable: '', partial: '' },
  liveRefresh: { running: false, again: false },
  timer: null,
};

// ---- helpers -----------------------------------------------------------------------------

function show(element, visible = true) {
  element.hidden = !visible;
}

function showError(element, message) {
  element.textContent = message;
  show(element, Boolean(message));
}

function formatTime(iso) {
  if (!iso) return '';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString('sv-SE');
}

function describe(error) {
  if (error instanceof ApiError) {
    const known = {
      unauthorized: 'Inloggningen gäller inte (fel eller återkallad token).',
      forbidden: 'Du har inte behörighet till detta.',
      not_found: 'Finns inte.',
      not_ready: 'Servern laddar fortfarande modellen. Försök igen om en stund.',
      too_large: 'Filen är för stor.',
      undecodable_audio: 'Filen gick inte att läsa som ljud.',
      conflict: 'Går inte just nu',
      version_mismatch: 'Anteckningen har ändrats av någon annan.',
      network: 'Nätverksfel.',
    };
    const prefix = known[error.code] || 'Fel';
    return `${prefix} (${error.status || '–'}: ${error.message})`;
  }
  return 'Fel: ' + (error && error.message ? error.message : String(error));
}

function templateById(id) {
  return app.templates.find((t) => t.id === id) || null;
}

function templateTitle(id) {
  const template = templateById(id);
  return template ? template.title : id;
}

// ---- login -------------------------------------------------------------------------------

async function login(token) {
  const api = new Api(token);
  const me = await api.me();
  app.api = api;
  app.me = me;
  storeToken(token);
  $('user-name').textContent = me.name;
  $('user-role').textContent = `${ROLE_LABELS[me.role] || me.role} · ${me.hsa_id}`;
  show($('whoami'));
  show($('login-view'), false);
  show($('app-view'));
  await loadTemplates();
  await refreshList();
  showNew();
}

function logout() {
  if (app.live && !app.live.finished) return;
  forgetToken();
  window.location.reload();
}

async function loadTemplates() {
  try {
    const body = await app.api.templates();
    app.templates = Array.isArray(body.items) ? body.items : [];
  } catch {
    app.templates = [];
  }
  const select = $('template');
  select.replaceChildren();
  for (const template of app.templates) {
    const option = document.createElement('option');
    option.value = template.id;
    option.textContent = template.title ? `${template.title} (${template.id})` : template.id;
    option.selected = Boolean(template.default);
    select.append(option);
  }
  if (app.templates.length === 0) {
    const option = document.createElement('option');
    option.value = 'standard';
    option.textContent = 'standard';
    select.append(option);
  }
}

// ---- draft list --------------------------------------------------------------------------

async function refreshList() {
  const patientRef = $('search-patient').value.trim();
  let items = [];
  try {
    const body = await app.api.drafts({ patientRef });
    items = Array.isArray(body.items) ? body.items : [];
  } catch (error) {
    showError($('new-error'), 'Kunde inte hämta anteckningarna: ' + describe(error));
  }
  if (app.me.role === 'clinician') items = items.filter((d) => d.clinician === app.me.hsa_id);
  const unsignedFirst = (d) => (d.status === 'signed' ? 1 : 0);
  items.sort((a, b) => unsignedFirst(a) - unsignedFirst(b)
    || String(b.updated_at).localeCompare(String(a.updated_at)));
  const list = $('draft-list');
  list.replaceChildren();
  for (const draft of items) {
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.dataset.draftId = draft.id;
    button.className = 'draft-item' + (app.draft && app.draft.id === draft.id ? ' current' : '');
    const title = document.createElement('span');
    title.className = 'patient';
    title.textContent = draft.patient_ref;
    const badge = document.createElement('span');
    badge.className = 'badge ' + draft.status;
    badge.textContent = STATUS_LABELS[draft.status] || draft.status;
    const meta = document.createElement('span');
    meta.className = 'muted small';
    meta.textContent = `${templateTitle(draft.template)} · ${formatTime(draft.updated_at)}`;
    button.append(title, badge, meta);
    button.addEventListener('click', () => openDraft(draft.id));
    item.append(button);
    list.append(item);
  }
  show($('draft-list-empty'), items.length === 0);
}

// ---- views -------------------------------------------------------------------------------

function showNew() {
  if (!confirmLeave()) return;
  app.draft = null;
  app.dirty = false;
  show($('new-view'));
  show($('draft-view'), Boolean(app.live && !app.live.finished));
  show($('empty-view'), false);
  showError($('new-error'), '');
  $('patient-ref').focus();
}

function confirmLeave() {
  if (app.live && !app.live.finished) return false;
  return !app.dirty || window.confirm('Du har osparade ändringar. Vill du lämna dem?');
}

async function openDraft(id) {
  if (app.live && !app.live.finished) return;
  if (!confirmLeave()) return;
  try {
    const draft = await app.api.draft(id);
    let sessionOpen = false;
    if (draft.session_id && draft.status === 'draft') {
      try {
        sessionOpen = (await app.api.session(draft.session_id)).status === 'open';
      } catch {
        sessionOpen = false;
      }
    }
    renderDraft(draft, { sessionOpen });
    show($('new-view'), false);
    show($('recording-view'), false);
    await refreshList();
  } catch (error) {
    showError($('new-error'), 'Kunde inte öppna anteckningen: ' + describe(error));
  }
}

// ---- the draft ---------------------------------------------------------------------------

function rememberGenerated(draft) {
  if (!app.generated.has(draft.id) && draft.status === 'draft') {
    app.generated.set(draft.id, (draft.sections || []).map((s) => ({
      heading: s.heading || '', text: s.text || '',
    })));
  }
}

/**
 * Shows `draft`. While live, the blocks are read-only and the open utterance's text follows
 * the last section; a signed draft is read-only for good.
 */
function renderDraft(draft, { live = false, sessionOpen = false } = {}) {
  app.draft = draft;
  app.dirty = false;
  if (!live) rememberGenerated(draft);
  const signed = draft.status === 'signed';
  app.editable = !live && !signed && !sessionOpen;
  show($('draft-view'));
  show($('empty-view'), false);
  $('draft-view').dataset.status = draft.status;
  $('draft-view').dataset.live = live ? 'true' : 'false';
  $('draft-title').textContent = `Patient ${draft.patient_ref}`;
  $('draft-meta').textContent = [
    templateTitle(draft.template),
    draft.created_at ? `skapad ${formatTime(draft.created_at)}` : '',
    draft.version ? `version ${draft.version}` : '',
    `ansvarig ${draft.clinician}`,
  ].filter(Boolean).join(' · ');
  const badge = $('draft-status');
  badge.className = 'badge ' + draft.status;
  badge.textContent = live ? 'Inspelning pågår' : (STATUS_LABELS[draft.status] || draft.status);

  const banner = $('signed-banner');
  if (signed) {
    banner.textContent = `Signerad ${formatTime(draft.signed_at)} av ${draft.signed_by || draft.clinician}. `
      + 'Anteckningen är skrivskyddad och kan inte ändras. Texten genererades av Skriva.';
  } else if (sessionOpen) {
    banner.textContent = 'Inspelningen pågår fortfarande i en annan flik. Anteckningen kan '
      + 'redigeras när den har stoppats.';
  }
  show(banner, signed || sessionOpen);
  show($('conflict-banner'), false);

  renderMetadata(draft.metadata);
  renderSections(draft);
  renderCodes(draft);
  updateLiveTail(live);
  $('save').disabled = !app.editable;
  $('sign').disabled = !app.editable;
  show($('save'), !signed);
  show($('sign'), !signed);
  $('save-status').textContent = '';
  if (!$('diff-box').hidden) renderDiff();
}

function renderMetadata(metadata) {
  const list = $('note-metadata');
  list.replaceChildren();
  const fields = [['patient_name', 'Namn'], ['personnummer', 'Personnummer']];
  for (const [key, label] of fields) {
    if (metadata && metadata[key]) {
      const dt = document.createElement('dt');
      dt.textContent = label;
      const dd = document.createElement('dd');
      dd.textContent = metadata[key];
      list.append(dt, dd);
    }
  }
  show(list, list.children.length > 0);
}

function renderSections(draft) {
  const container = $('sections');
  container.replaceChildren();
  const blocks = noteBlocks(draft, templateById(draft.template));
  const withText = blocks.map((b) => b.section || { heading: b.heading, text: '' });
  const uncertain = lowConfidenceRanges(withText, draft.segments);
  app.blocks = [];
  blocks.forEach((block, index) => {
    const section = withText[index];
    const wrapper = document.createElement('section');
    wrapper.className = 'note-section';
    wrapper.dataset.heading = block.heading;
    const heading = document.createElement('h3');
    heading.textContent = block.heading || 'Utan rubrik';
    heading.id = 'heading-' + index;
    const text = document.createElement('div');
    text.className = 'section-text';
    text.setAttribute('role', 'textbox');
    text.setAttribute('aria-multiline', 'true');
    text.setAttribute('aria-labelledby', heading.id);
    // The browser's dictionary knows no clinical terms; its squiggles would hide ours.
    text.spellcheck = false;
    text.lang = 'sv';
    renderMarked(text, section.text || '', sectionMarks(section, draft, uncertain[index]));
    setEditable(text, app.editable);
    text.addEventListener('input', onEdit);
    wrapper.append(heading, text);
    if (!block.section) wrapper.classList.add('empty');
    container.append(wrapper);
    app.blocks.push({ heading: block.heading, element: text });
  });
}

function renderCodes(draft) {
  const codes = Array.isArray(draft.suggested_codes) ? draft.suggested_codes : [];
  const list = $('codes');
  list.replaceChildren();
  for (const code of codes) {
    const item = document.createElement('li');
    const label = document.createElement('span');
    label.className = 'code';
    label.textContent = `${code.code} ${code.title || ''}`;
    const evidence = document.createElement('span');
    evidence.className = 'muted';
    evidence.textContent = code.evidence
      ? ` — underlag: ”${code.evidence}”${code.heading ? ' (' + code.heading + ')' : ''}`
      : '';
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Lägg till';
    button.dataset.code = code.code;
    button.disabled = !app.editable || noteContains(code.code);
    if (noteContains(code.code)) button.textContent = 'Finns i anteckningen';
    button.addEventListener('click', () => {
      addCode(code);
      button.disabled = true;
      button.textContent = 'Tillagd';
    });
    item.append(button, ' ', label, evidence);
    list.append(item);
  }
  show($('codes-box'), codes.length > 0);
}

function noteContains(code) {
  return app.blocks.some((b) => blockText(b.element).includes(code));
}

/** Writes a suggested code into the note: under Diagnos when the note has it, else next to its evidence. */
function addCode(code) {
  const pick = (heading) => app.blocks.find((b) => b.heading.toLowerCase() === heading.toLowerCase());
  const block = pick('Diagnos') || (code.heading && pick(code.heading)) || app.blocks[app.blocks.length - 1];
  if (!block) return;
  const current = blockText(block.element);
  const line = `${code.title} ${code.code}`.trim();
  const text = current.trim() === '' ? line : current + '\n' + line;
  block.element.textContent = text;
  block.element.closest('.note-section').classList.remove('empty');
  onEdit();
}

function onEdit() {
  if (!app.editable) return;
  app.dirty = true;
  $('save-status').textContent = 'Osparade ändringar';
  if (!$('diff-box').hidden) renderDiff();
}

function editedSections() {
  return app.blocks
    .map((b) => ({ heading: b.heading, text: blockText(b.element).trim() }))
    .filter((s) => s.text !== '');
}

async function save() {
  if (!app.draft || !app.editable) return false;
  if (!app.dirty) {
    $('save-status').textContent = 'Inga ändringar att spara';
    return true;
  }
  $('save-status').textContent = 'Sparar…';
  try {
    const saved = await app.api.saveDraft(app.draft.id, app.draft.version, editedSections());
    renderDraft(saved);
    $('save-status').textContent = `Sparad (version ${saved.version})`;
    await refreshList();
    return true;
  } catch (error) {
    if (error instanceof ApiError && error.code === 'version_mismatch') {
      $('conflict-text').textContent = 'Anteckningen har ändrats i en annan flik eller av någon '
        + 'annan sedan du öppnade den. Dina ändringar har inte sparats och inget har skrivits över. '
        + 'Kopiera det du vill behålla och hämta sedan den senaste versionen.';
      show($('conflict-banner'));
      $('save-status').textContent = 'Inte sparad: versionskonflikt';
    } else {
      $('save-status').textContent = 'Inte sparad: ' + describe(error);
    }
    return false;
  }
}

function sign() {
  const draft = app.draft;
  if (!draft || !app.editable) return;
  if (app.me.hsa_id !== draft.clinician) {
    $('save-status').textContent = `Endast ansvarig läkare (${draft.clinician}) kan signera.`;
    return;
  }
  $('sign-who').textContent = `${app.me.name} (${app.me.hsa_id})`;
  $('sign-patient').textContent = `Patient ${draft.patient_ref}, ${templateTitle(draft.template)}.`
    + (app.dirty ? ' Dina osparade ändringar sparas först.' : '');
  $('sign-dialog').returnValue = '';
  $('sign-dialog').showModal();
}

async function onSignDialogClose() {
  if ($('sign-dialog').returnValue !== 'sign' || !app.draft) return;
  if (app.dirty && !(await save())) return;
  try {
    const signed = await app.api.signDraft(app.draft.id, app.draft.version);
    renderDraft(signed);
    await refreshList();
  } catch (error) {
    $('save-status').textContent = 'Inte signerad: ' + describe(error);
  }
}

async function reloadAfterConflict() {
  if (!app.draft) return;
  app.dirty = false;
  await openDraft(app.draft.id);
}

// ---- diff --------------------------------------------------------------------------------

function renderDiff() {
  const container = $('diff');
  container.replaceChildren();
  if (!app.draft) return;
  const generated = app.generated.get(app.draft.id);
  $('diff-left-title').textContent = generated ? 'Genererat av Skriva' : 'Senast sparad version';
  const base = generated || (app.draft.sections || []);
  const current = app.blocks.map((b) => ({ heading: b.heading, text: blockText(b.element) }));
  const headings = [];
  for (const s of [...base, ...current]) {
    if (!headings.includes(s.heading || '')) headings.push(s.heading || '');
  }
  const textOf = (sections, heading) => sections
    .filter((s) => (s.heading || '') === heading).map((s) => s.text || '').join('\n').trim();
  for (const heading of headings) {
    const before = textOf(base, heading);
    const after = textOf(current, heading);
    if (!before && !after) continue;
    const title = document.createElement('h5');
    title.textContent = heading || 'Utan rubrik';
    const row = document.createElement('div');
    row.className = 'diff-grid';
    const { left, right } = diffWords(before, after);
    row.append(diffSide(left, 'del'), diffSide(right, 'ins'));
    container.append(title, row);
  }
}

function diffSide(parts, changedTag) {
  const side = document.createElement('div');
  side.className = 'diff-side';
  for (const part of parts) {
    if (part.kind === 'same') {
      side.append(document.createTextNode(part.text));
    } else {
      const mark = document.createElement(changedTag);
      mark.textContent = part.text;
      side.append(mark);
    }
  }
  return side;
}

function toggleDiff() {
  const box = $('diff-box');
  show(box, box.hidden);
  $('toggle-diff').setAttribute('aria-expanded', String(!box.hidden));
  $('toggle-diff').textContent = box.hidden ? 'Visa skillnader' : 'Dölj skillnader';
  if (!box.hidden) renderDiff();
}

// ---- live dictation ----------------------------------------------------------------------

function streamUrl(sessionId) {
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${window.location.host}/api/sessions/${encodeURIComponent(sessionId)}/stream`;
}

function patientRefOrError() {
  const patientRef = $('patient-ref').value.trim();
  if (!patientRef) {
    showError($('new-error'), 'Ange en patientreferens.');
    $('patient-ref').focus();
    return null;
  }
  return patientRef;
}

async function startRecording() {
  if (app.live && !app.live.finished && !app.live.failed) return;
  const patientRef = patientRefOrError();
  if (!patientRef) return;
  showError($('new-error'), '');
  showError($('rec-error'), '');
  const mode = document.querySelector('input[name="mode"]:checked').value;
  const template = $('template').value;
  let session;
  try {
    session = await app.api.createSession({ mode, patientRef, template });
  } catch (error) {
    showError($('new-error'), 'Kunde inte starta: ' + describe(error));
    return;
  }
  app.liveSession = session;
  app.liveTail = { stable: '', partial: '' };
  const live = new LiveSession({
    url: streamUrl(session.id),
    token: app.api.token,
    onEvent: onLiveEvent,
    onState: onLiveState,
    onLevel: (level) => {
      $('level').value = level;
    },
  });
  app.live = live;
  show($('new-view'), false);
  show($('recording-view'));
  $('rec-info').textContent = `Patient ${patientRef} · ${mode === 'ambient' ? 'samtal' : 'diktering'}`
    + ` · ${templateTitle(template)}`;
  renderDraft({
    id: session.draft_id, session_id: session.id, patient_ref: patientRef, template,
    status: 'draft', version: 0, sections: [], clinician: app.me.hsa_id,
  }, { live: true });
  app.timer = setInterval(updateTimer, 250);
  try {
    await live.start();
  } catch (error) {
    live.fail('Mikrofonen kunde inte öppnas: ' + (error.message || error.name));
  }
}

function updateTimer() {
  if (!app.live) return;
  const seconds = Math.floor(app.live.capturedSeconds);
  const mm = String(Math.floor(seconds / 60)).padStart(2, '0');
  const ss = String(seconds % 60).padStart(2, '0');
  $('rec-time').textContent = `${mm}:${ss}`;
}

function onLiveState(state, detail) {
  const label = $('rec-state');
  label.dataset.state = state;
  label.textContent = STATE_LABELS[state] + (detail && state !== State.FAILED ? ` (${detail})` : '');
  $('stop-recording').disabled = state === State.STOPPING || state === State.STOPPED
    || state === State.FAILED;
  if (state === State.FAILED) {
    showError($('rec-error'), detail || 'Inspelningen avbröts.');
    finishLive();
  }
}

function onLiveEvent(event) {
  switch (event.type) {
    case 'stable':
      app.liveTail.stable = (app.liveTail.stable + ' ' + (event.text || '')).trim();
      updateLiveTail(true);
      break;
    case 'partial':
      app.liveTail.partial = event.text || '';
      updateLiveTail(true);
      break;
    case 'final':
      app.liveTail = { stable: '', partial: '' };
      updateLiveTail(true);
      refreshLiveDraft();
      break;
    case 'closed':
      finishLive();
      break;
    case 'backpressure':
      $('rec-info').dataset.behind = String(event.behind_s);
      break;
    case 'error':
      if (event.code !== 'not_ready') showError($('rec-error'), `${event.code}: ${event.message}`);
      break;
    default:
      break;
  }
}

function updateLiveTail(live) {
  const tail = $('live-tail');
  tail.querySelector('.stable').textContent = app.liveTail.stable;
  tail.querySelector('.partial').textContent = app.liveTail.partial;
  show(tail, live && Boolean(app.liveTail.stable || app.liveTail.partial));
}

async function refreshLiveDraft() {
  const state = app.liveRefresh;
  if (state.running) {
    state.again = true;
    return;
  }
  state.running = true;
  try {
    do {
      state.again = false;
      const draft = await app.api.draft(app.liveSession.draft_id);
      if (app.live && !app.live.finished) renderDraft(draft, { live: true });
    } while (state.again);
  } catch {
    // The next final refreshes again.
  } finally {
    state.running = false;
  }
}

async function stopRecording() {
  if (!app.live || app.live.finished) return;
  await app.live.stop();
}

async function finishLive() {
  clearInterval(app.timer);
  updateTimer();
  const session = app.liveSession;
  if (!session) return;
  app.liveTail = { stable: '', partial: '' };
  try {
    const draft = await app.api.draft(session.draft_id);
    renderDraft(draft);
  } catch (error) {
    showError($('rec-error'), 'Kunde inte hämta utkastet: ' + describe(error));
  }
  await refreshList();
}

function toggleRecording() {
  if (app.live && !app.live.finished && !app.live.failed) {
    stopRecording();
  } else if (!$('new-view').hidden) {
    startRecording();
  }
}

// ---- upload ------------------------------------------------------------------------------

async function upload(event) {
  event.preventDefault();
  const patientRef = patientRefOrError();
  const file = $('upload-file').files[0];
  if (!patientRef || !file) return;
  showError($('new-error'), '');
  const progress = $('upload-progress');
  const status = $('upload-status');
  show($('upload-progress-box'));
  $('upload-button').disabled = true;
  progress.value = 0;
  status.textContent = 'Laddar upp… 0 %';
  try {
    const draft = await app.api.upload({ file, patientRef, template: $('template').value }, (f) => {
      if (f >= 1) {
        progress.removeAttribute('value');
        status.textContent = 'Uppladdad. Transkriberar…';
      } else {
        progress.value = Math.round(f * 100);
        status.textContent = `Laddar upp… ${Math.round(f * 100)} %`;
      }
    });
    progress.value = 100;
    status.textContent = 'Klar.';
    renderDraft(draft);
    show($('new-view'), false);
    await refreshList();
  } catch (error) {
    status.textContent = '';
    show($('upload-progress-box'), false);
    showError($('new-error'), 'Uppladdningen misslyckades: ' + describe(error));
  } finally {
    $('upload-button').disabled = false;
  }
}

// ---- wiring ------------------------------------------------------------------------------

function onKey(event) {
  if (!app.me) return;
  if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === 'KeyR') {
    event.preventDefault();
    toggleRecording();
  } else if (event.altKey && !event.ctrlKey && !event.metaKey && event.code === 'KeyG') {
    event.preventDefault();
    sign();
  } else if ((event.ctrlKey || event.metaKey) && !event.altKey && event.code === 'KeyS') {
    event.preventDefault();
    save();
  }
}

function wire() {
  $('login-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const token = $('token').value.trim();
    showError($('login-error'), '');
    try {
      await login(token);
      $('token').value = '';
    } catch (error) {
      forgetToken();
      showError($('login-error'), error instanceof ApiError && error.status === 401
        ? 'Fel token. Kontrollera den och försök igen.'
        : 'Kunde inte logga in: ' + describe(error));
    }
  });
  $('logout').addEventListener('click', logout);
  $('search-form').addEventListener('submit', (event) => {
    event.preventDefault();
    refreshList();
  });
  $('new-note').addEventListener('click', showNew);
  $('session-form').addEventListener('submit', (event) => {
    event.preventDefault();
    startRecording();
  });
  $('stop-recording').addEventListener('click', stopRecording);
  $('upload-form').addEventListener('submit', upload);
  $('save').addEventListener('click', save);
  $('sign').addEventListener('click', sign);
  $('sign-dialog').addEventListener('close', onSignDialogClose);
  $('toggle-diff').addEventListener('click', toggleDiff);
  $('conflict-reload').addEventListener('click', reloadAfterConflict);
  document.addEventListener('keydown', onKey);
  window.addEventListener('beforeunload', (event) => {
    if (app.dirty || (app.live && !app.live.finished && !app.live.failed)) event.preventDefault();
  });
}

// For automated checks of the live stream (frame counts, and a simulated network drop).
window.skrivaDebug = {
  stats() {
    const live = app.live;
    return live ? {
      state: live.state,
      sessionId: app.liveSession && app.liveSession.id,
      draftId: app.liveSession && app.liveSession.draft_id,
      lastFrameSeq: live.lastFrameSeq,
      ackedSeq: live.ackedSeq,
      unacknowledged: live.unacknowledged,
      capturedSeconds: live.capturedSeconds,
      sampleRate: live.sampleRate,
      finished: live.finished,
    } : null;
  },
  dropConnection(holdMs = 0) {
    if (app.live) app.live.dropConnection(holdMs);
  },
};

async function init() {
  wire();
  const token = storedToken();
  if (token) {
    try {
      await login(token);
      return;
    } catch {
      forgetToken();
    }
  }
  show($('login-view'));
  $('token').focus();
}

init();
