#!/usr/bin/env bash
# One command from a fresh checkout to a Swedish transcript: installs what is missing, builds,
# provisions the default model, and transcribes the bundled sample clip.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --release -p skriva
./target/release/skriva model fetch
echo "--- corpora/sv-clinical/sample.wav ---"
./target/release/skriva transcribe corpora/sv-clinical/sample.wav "$@"
