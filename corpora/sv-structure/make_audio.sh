#!/usr/bin/env bash
# Synthesize the dictation cases of corpora/sv-structure/cases/ as audio, for an audio-level
# structuring benchmark on longer dictations (30-60 s, several of whisper's 30 s windows)
# than the sv-clinical clips. Each case's `spoken` script is read aloud by the MBROLA Swedish
# voices (see corpora/make_corpus.sh, which does the synthesis); its expected sections become
# the manifest's written `note`. Ambient cases (dialogue) are skipped.
#
# Usage: corpora/sv-structure/make_audio.sh [OUT_DIR] [CASES_DIR]
#        (defaults: corpora/sv-structure/audio and corpora/sv-structure/cases; the held-out set
#        is read with `make_audio.sh corpora/sv-heldout/audio corpora/sv-heldout/cases`)
# Then:  skriva-bench structure --corpus OUT_DIR/manifest.tsv
#
# The audio is not kept in the repository: it is regenerated, byte-identical for a given
# espeak-ng/mbrola/sox version, from the cases.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out_dir="${1:-$here/audio}"
cases_dir="${2:-$here/cases}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

python3 - "$cases_dir" "$work/sentences.tsv" <<'PY'
import pathlib, sys, tomllib

cases_dir, out = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
# Voices and rates in turn, so both voices and a spread of speeds are heard.
voices = [("sw1w", 140), ("sw2", 135), ("sw1", 145)]
rows = ["id\tvoice\trate\tkind\tdomain\ttext\tnote\tnotes"]
dictations = []
for path in sorted(cases_dir.glob("*.toml")):
    case = tomllib.loads(path.read_text(encoding="utf-8"))
    if case.get("mode") == "dictation":
        dictations.append(case)
# A case may pin its voice (`voice = "sw2"`): cases added later do so, so that adding one
# does not move the others to another voice and change audio already measured.
rotation = 0
for case in dictations:
    if "voice" in case:
        voice, rate = next(v for v in voices if v[0] == case["voice"])
    else:
        voice, rate = voices[rotation % len(voices)]
        rotation += 1
    domain = "psychiatry" if case["template"].startswith("psykiatri") else "primary_care"
    text = " ".join(case["spoken"].split())
    # One line per heading and per text: a section's own line breaks become spaces.
    note = "\\n".join(f"{s['heading']}\\n{' '.join(s['text'].split())}" for s in case["sections"])
    for field in (text, note):
        if "\t" in field:
            sys.exit(f"{case['id']}: a tab in the text")
    rows.append("\t".join([case["id"], voice, str(rate), "dictation", domain, text, note,
                           case.get("description", "").replace("\t", " ")]))
out.write_text("\n".join(rows) + "\n", encoding="utf-8")
PY

"$here/../make_corpus.sh" "$out_dir" "$work/sentences.tsv"
