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
cargo test --release --workspace
