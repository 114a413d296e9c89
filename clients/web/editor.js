// The draft editor's building blocks: the blocks of a note in template order, each section's
// text rendered with its highlights (words the term corrector changed, evidence for suggested
// codes, words the recognizer was unsure of) and read back as plain text after editing.

/** Word probability under which a recognized word is marked as uncertain. */
export const LOW_CONFIDENCE = 0.5;

const PLAINTEXT_ONLY = (() => {
  try {
    const probe = document.createElement('div');
    probe.contentEditable = 'plaintext-only';
    return probe.contentEditable === 'plaintext-only';
  } catch {
    return false;
  }
})();

/** Makes `element` editable (plain text where the browser supports it) or read-only. */
export function setEditable(element, editable) {
  element.contentEditable = editable ? (PLAINTEXT_ONLY ? 'plaintext-only' : 'true') : 'false';
  element.setAttribute('aria-readonly', editable ? 'false' : 'true');
}

/**
 * The note's blocks in template order: every heading of the template (empty ones too, so the
 * clinician can fill them in), the draft's unheaded text first, and headings the template
 * lacks after it in the draft's order.
 */
export function noteBlocks(draft, template) {
  const sections = Array.isArray(draft.sections) ? draft.sections : [];
  const byHeading = new Map();
  for (const section of sections) {
    const heading = section.heading || '';
    if (!byHeading.has(heading)) byHeading.set(heading, []);
    byHeading.get(heading).push(section);
  }
  const blocks = [];
  const take = (heading) => {
    const found = byHeading.get(heading) || [];
    byHeading.delete(heading);
    return found;
  };
  for (const section of take('')) blocks.push({ heading: '', section });
  const headings = template && Array.isArray(template.headings) ? template.headings : [];
  for (const heading of headings) {
    const found = take(heading);
    if (found.length === 0) blocks.push({ heading, section: null });
    for (const section of found) blocks.push({ heading, section });
  }
  for (const section of sections) {
    if (byHeading.has(section.heading || '')) {
      for (const s of take(section.heading || '')) blocks.push({ heading: s.heading, section: s });
    }
  }
  return blocks;
}

function normalizeWord(word) {
  return word.toLowerCase().replace(/^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu, '');
}

/**
 * Marks, per section, the character ranges of words the recognizer gave a low probability.
 * The written text differs from the recognized words (numbers, punctuation, corrections), so
 * the words are aligned in order, each matched to the next equal word shortly ahead.
 */
export function lowConfidenceRanges(sections, segments) {
  const words = [];
  for (const segment of segments || []) {
    for (const word of segment.words || []) {
      const text = normalizeWord(word.word || '');
      if (text) words.push({ text, p: typeof word.p === 'number' ? word.p : 1 });
    }
  }
  const result = sections.map(() => []);
  let next = 0;
  sections.forEach((section, index) => {
    const chars = Array.from(section.text || '');
    const text = chars.join('');
    const pattern = /[\p{L}\p{N}][\p{L}\p{N}'’-]*/gu;
    let match;
    while ((match = pattern.exec(text)) !== null) {
      const token = normalizeWord(match[0]);
      for (let k = next; k < Math.min(words.length, next + 8); k++) {
        if (words[k].text === token) {
          next = k + 1;
          if (words[k].p < LOW_CONFIDENCE) {
            const start = Array.from(text.slice(0, match.index)).length;
            result[index].push({
              start,
              end: start + Array.from(match[0]).length,
              p: words[k].p,
            });
          }
          break;
        }
      }
    }
  });
  return result;
}

/**
 * Highlights for one section: its spans (corrections and code evidence) and its uncertain
 * words, as `{start, end, className, title}` in characters.
 */
export function sectionMarks(section, note, lowConfidence) {
  const marks = [];
  const corrections = Array.isArray(note.corrections) ? note.corrections : [];
  const codes = Array.isArray(note.suggested_codes) ? note.suggested_codes : [];
  const spans = Array.isArray(section.spans) ? section.spans : [];
  for (const span of spans) {
    if (span.kind === 'correction' && corrections[span.index]) {
      const c = corrections[span.index];
      marks.push({
        start: span.start_char, end: span.end_char, className: 'corrected',
        title: `Rättat av Skriva. Uppfattades som: "${c.original}"`,
      });
    } else if (span.kind === 'code' && codes[span.index]) {
      const c = codes[span.index];
      marks.push({
        start: span.start_char, end: span.end_char, className: 'evidence',
        title: `Underlag för kodförslag ${c.code} ${c.title}`,
      });
    }
  }
  if (!spans.some((s) => s.kind === 'correction')) {
    // Without spans, find each correction's replacement in the text.
    const chars = Array.from(section.text || '');
    const text = chars.join('');
    for (const c of corrections) {
      if (!c.replacement) continue;
      const at = text.indexOf(c.replacement);
      if (at >= 0) {
        const start = Array.from(text.slice(0, at)).length;
        marks.push({
          start, end: start + Array.from(c.replacement).length, className: 'corrected',
          title: `Rättat av Skriva. Uppfattades som: "${c.original}"`,
        });
      }
    }
  }
  for (const range of lowConfidence || []) {
    marks.push({
      start: range.start, end: range.end, className: 'lowconf',
      title: `Osäkert ord (säkerhet ${Math.round(range.p * 100)} %)`,
    });
  }
  return marks;
}

/** Fills `element` with `text`, wrapping marked ranges in spans (overlaps combine). */
export function renderMarked(element, text, marks) {
  element.replaceChildren();
  const chars = Array.from(text || '');
  const valid = marks.filter((m) => m.start >= 0 && m.end <= chars.length && m.start < m.end);
  const cuts = new Set([0, chars.length]);
  for (const m of valid) {
    cuts.add(m.start);
    cuts.add(m.end);
  }
  const points = [...cuts].sort((x, y) => x - y);
  for (let i = 0; i + 1 < points.length; i++) {
    const [from, to] = [points[i], points[i + 1]];
    const piece = chars.slice(from, to).join('');
    const covering = valid.filter((m) => m.start <= from && m.end >= to);
    if (covering.length === 0) {
      element.append(document.createTextNode(piece));
    } else {
      const span = document.createElement('span');
      span.className = [...new Set(covering.map((m) => m.className))].join(' ');
      span.title = covering.map((m) => m.title).join('\n');
      span.textContent = piece;
      element.append(span);
    }
  }
}

/** The plain text of an edited block. */
export function blockText(element) {
  return element.innerText.replace(/\u00a0/g, ' ').replace(/\n+$/, '');
}

/** The note's text as one string, headings on their own lines (as the server's `text`). */
export function noteText(sections) {
  return sections
    .filter((s) => (s.text || '').trim() !== '')
    .map((s) => (s.heading ? s.heading + '\n' + s.text : s.text))
    .join('\n\n');
}
