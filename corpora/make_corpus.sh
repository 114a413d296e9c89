#!/usr/bin/env bash
# Regenerate the synthetic Swedish clinical corpus (corpora/sv-clinical/).
#
# Every clip is synthesized from corpora/sv-clinical/sentences.tsv with
# espeak-ng driving the MBROLA Swedish diphone voices sw1 (male) and sw2
# (female), then converted with sox to 16 kHz mono signed 16-bit WAV,
# peak-normalized to -3 dBFS. manifest.tsv is rewritten from the same source.
# The output is deterministic for a given espeak-ng/mbrola/sox version.
#
# Usage: corpora/make_corpus.sh [OUT_DIR] [SENTENCES_TSV]
#        (defaults: corpora/sv-clinical and its sentences.tsv)
#
# sentences.tsv columns (tab-separated, UTF-8, header row):
#   id      clip id; the clip is written as <id>.wav
#   voice   sw1 | sw2 | sw1w (sw1 with a wider pitch range, defined below)
#   rate    espeak-ng speed (words per minute), ~130-160
#   kind    plain | dictation
#   domain  primary_care | psychiatry
#   text    the words exactly as spoken (numbers and dictation commands as words);
#           this is both the TTS input and the manifest `reference`
#   note    dictation only: the written journal note, line breaks escaped as \n
#   notes   free-text comment
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
src_dir="$here/sv-clinical"
out_dir="${1:-$src_dir}"
sentences="${2:-$src_dir/sentences.tsv}"

install_hint() {
    cat >&2 <<'EOF'

The Swedish MBROLA voices are needed to regenerate this corpus. On Debian/Ubuntu:

    # Debian: enable the "contrib" and "non-free" components in
    #         /etc/apt/sources.list (or sources.list.d/debian.sources) first;
    # Ubuntu: enable "multiverse".
    sudo apt-get update
    sudo apt-get install espeak-ng mbrola mbrola-sw1 mbrola-sw2 sox

EOF
    exit 1
}

for tool in espeak-ng mbrola sox; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "error: '$tool' not found in PATH." >&2
        install_hint
    fi
done

# Locate the system espeak-ng data dir (contains voices/mb/mb-sw1).
sys_data=""
for d in /usr/lib/x86_64-linux-gnu/espeak-ng-data /usr/lib/aarch64-linux-gnu/espeak-ng-data \
         /usr/lib/*/espeak-ng-data /usr/share/espeak-ng-data /usr/local/share/espeak-ng-data; do
    if [[ -f "$d/voices/mb/mb-sw1" ]]; then sys_data="$d"; break; fi
done
if [[ -z "$sys_data" ]]; then
    echo "error: espeak-ng data dir with voices/mb/mb-sw1 not found." >&2
    install_hint
fi
[[ -f "$sentences" ]] || { echo "error: $sentences not found" >&2; exit 1; }

# Private espeak-ng data dir with one extra voice, mb-sw1w: sw1 with a wider
# pitch range (stock mb-sw1 uses 82..117 Hz and sounds very flat).
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cp -r "$sys_data" "$work/espeak-ng-data"
cat > "$work/espeak-ng-data/voices/mb/mb-sw1w" <<'EOF'
name swedish-mbrola-1-wide
language sv 9
gender male

pitch 75 135
voicing 120

mbrola sw1 sv_phtrans
EOF
export ESPEAK_DATA_PATH="$work"

# Self-test: both MBROLA voices must produce audio (espeak-ng itself knows
# where mbrola keeps its voices, so ask it rather than guessing paths).
for v in sw1 sw2; do
    if ! espeak-ng -v "mb-$v" -w "$work/selftest.wav" "test" 2>"$work/selftest.err" \
       || [[ ! -s "$work/selftest.wav" ]] || grep -qi "not found\|cannot\|error" "$work/selftest.err"; then
        cat "$work/selftest.err" >&2
        echo "error: espeak-ng could not synthesize with mb-$v (is mbrola-$v installed?)." >&2
        install_hint
    fi
    rm -f "$work/selftest.wav"
done

mkdir -p "$out_dir"
manifest="$out_dir/manifest.tsv"
printf 'path\treference\tnote\tvoice\tkind\tdomain\tnotes\n' > "$manifest.tmp"

n=0
# Tab is IFS whitespace (consecutive tabs would merge and drop empty fields),
# so split on \x1f instead.
while IFS= read -r line || [[ -n "$line" ]]; do
    IFS=$'\x1f' read -r id voice rate kind domain text note notes <<<"${line//$'\t'/$'\x1f'}"
    [[ "$id" == "id" || -z "$id" ]] && continue
    case "$voice" in sw1|sw2|sw1w) ;; *) echo "error: $id: unknown voice '$voice'" >&2; exit 1;; esac
    case "$kind" in plain|dictation) ;; *) echo "error: $id: unknown kind '$kind'" >&2; exit 1;; esac
    case "$domain" in primary_care|psychiatry) ;; *) echo "error: $id: unknown domain '$domain'" >&2; exit 1;; esac

    # TTS-only respellings where espeak-ng's Swedish rules get a word wrong;
    # the reference keeps the normal spelling. [[...]] is espeak-ng phoneme
    # input (' marks the stressed syllable).
    tts="$(sed -E \
        -e "s/(^|[^[:alnum:]])ADHD([^[:alnum:]]|\$)/\1A D H D\2/g" \
        -e "s/(^|[^[:alnum:]])[Aa]namnes([^[:alnum:]]|\$)/\1[[anamn'e:s]]\2/g" \
        -e "s/(^|[^[:alnum:]])[Aa]ktuellt([^[:alnum:]]|\$)/\1[[aktu-'Elt]]\2/g" \
        -e "s/(^|[^[:alnum:]])Waran([^[:alnum:]]|\$)/\1[[var'A:n]]\2/g" \
        -e "s/Lasègue/[[las'E:g]]/g" <<<"$text")"
    if [[ "$kind" == "dictation" ]]; then
        # A dictating clinician pauses briefly after spoken punctuation; give the
        # synthesizer a prosodic break there. The reference stays word-only.
        tts="$(sed -E 's/(^| )(kolon) /\1\2, /g; s/(^| )(punkt) /\1\2. /g' <<<"$tts")"
    fi

    raw="$work/$id.raw.wav"
    espeak-ng -v "mb-$voice" -s "$rate" -w "$raw" -- "$tts"
    # -R: repeatable; -D: no dither -> byte-identical output on every run.
    sox -R -D "$raw" -r 16000 -c 1 -b 16 -e signed-integer "$out_dir/$id.wav" gain -n -3
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id.wav" "$text" "$note" "$voice" "$kind" "$domain" "$notes" >> "$manifest.tmp"
    dur="$(soxi -D "$out_dir/$id.wav" 2>/dev/null || echo '?')"
    printf '  %-24s %-5s %3s  %6.2fs\n' "$id" "$voice" "$rate" "$dur"
    n=$((n + 1))
done < "$sentences"

mv "$manifest.tmp" "$manifest"
echo "wrote $n clips and $manifest"
