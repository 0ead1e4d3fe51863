#!/usr/bin/env bash
# Runs cargo-fuzz targets for a bounded time each, one after another, on the stable toolchain.
#
#   fuzz/run.sh [SECONDS] [TARGET...]      default: 600 seconds, every target
#
# Environment:
#   FUZZ_JOBS=N          libFuzzer -jobs/-workers (default 1: one in-process run, output on
#                        the terminal; with N > 1 libFuzzer writes fuzz-<i>.log files)
#   FUZZ_SANITIZER=S     cargo-fuzz --sanitizer (default none: works on stable; "address"
#                        needs a nightly toolchain, e.g. FUZZ_TOOLCHAIN=nightly)
#   FUZZ_TOOLCHAIN=T     rustup toolchain for cargo fuzz (default: the active one)
#   FUZZ_ARGS="..."      extra libFuzzer flags
#
# Each target's working corpus is fuzz/corpus/<target>/ (gitignored), seeded from the committed
# fuzz/seeds/<target>/; fuzz/regressions/<target>/ (crash inputs kept after their fix) is read
# too. A crash stops the run with a non-zero status and leaves the input in
# fuzz/artifacts/<target>/; turn it into a regression test in tests/ and fix the core.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-600}"
shift || true
all=(transport_events receiver_input roundtrip translator_lossless tokenizer)
if [ "$#" -gt 0 ]; then targets=("$@"); else targets=("${all[@]}"); fi
jobs="${FUZZ_JOBS:-1}"
sanitizer="${FUZZ_SANITIZER:-none}"
toolchain=()
if [ -n "${FUZZ_TOOLCHAIN:-}" ]; then toolchain=("+${FUZZ_TOOLCHAIN}"); fi

if ! cargo "${toolchain[@]}" fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

# -max_len bounds an input (the targets cap their own sizes too); -timeout fails an input that
# runs longer than 10 s; -rss_limit_mb fails a run whose memory grows past 2 GiB.
defaults=(-max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)

for target in "${targets[@]}"; do
    corpus="fuzz/corpus/$target"
    mkdir -p "$corpus" "fuzz/regressions/$target"
    if [ -d "fuzz/seeds/$target" ]; then cp -n "fuzz/seeds/$target"/* "$corpus"/ 2>/dev/null || true; fi
    echo "== fuzz $target for ${seconds}s (jobs $jobs, sanitizer $sanitizer)"
    parallel=()
    if [ "$jobs" -gt 1 ]; then parallel=(-jobs="$jobs" -workers="$jobs"); fi
    # shellcheck disable=SC2086
    cargo "${toolchain[@]}" fuzz run --sanitizer "$sanitizer" "$target" "$corpus" "fuzz/regressions/$target" -- \
        "${defaults[@]}" -max_total_time="$seconds" "${parallel[@]}" ${FUZZ_ARGS:-}
done
