#!/usr/bin/env bash
# The whole test suite, from a fresh checkout: installs what is missing, provisions the default
# model (tests run against the real model), checks formatting and lints, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cargo build --release -p skriva
./target/release/skriva model fetch
cargo fmt --all -- --check
cargo clippy --release --workspace --all-targets -- -D warnings
# One test at a time: the model tests each use every core, and whisper.cpp threads that share
# cores with another decode spin instead of working.
cargo test --release --workspace -- --test-threads=1
# The review page in real headless Chromium and Firefox against the real server (clients/web/e2e).
(cd clients/web/e2e && npm ci --no-audit --no-fund && node --test)
