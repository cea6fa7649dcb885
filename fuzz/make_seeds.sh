#!/usr/bin/env bash
# Generate the seed corpus for every fuzz target into fuzz/corpus/<target>/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")"
cargo run -q --release --example make_seeds -- corpus
