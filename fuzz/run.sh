#!/usr/bin/env bash
# Runs the cargo-fuzz targets: fuzz/run.sh [SECONDS] [TARGET...]
#
# SECONDS (default 60) is per target; no TARGET means all of them. Each
# target starts from its committed seed corpus (read only) plus a working
# corpus in fuzz/corpus/<target> (not committed); crashes land in
# fuzz/artifacts/<target>/, logs in fuzz/logs/<target>.log.
#
# Environment: FUZZ_JOBS (default 1) targets at once, FUZZ_NICE (default 10)
# niceness, FUZZ_ARGS extra libFuzzer flags. Needs a nightly toolchain and
# cargo-fuzz (`cargo install cargo-fuzz`).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(dirname "$here")"
seconds="${1:-60}"
shift || true

# target -> committed seed corpus
declare -A seeds=(
    [ascii_request]=crates/protocol/fuzz-corpus/ascii
    [ascii_response]=crates/protocol/fuzz-corpus/ascii
    [binary_request]=crates/protocol/fuzz-corpus/binary
    [binary_response]=crates/protocol/fuzz-corpus/binary
    [meta_request]=crates/protocol/fuzz-corpus/meta
    [meta_response]=crates/protocol/fuzz-corpus/meta
    [command_line]=crates/config/fuzz-corpus/command_line
    [vbucket_json]=crates/config/fuzz-corpus/vbucket_json
    [rest_stream]=crates/config/fuzz-corpus/rest_stream
)
all=(ascii_request ascii_response binary_request binary_response meta_request meta_response
    command_line vbucket_json rest_stream)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
for t in "${targets[@]}"; do
    [ -n "${seeds[$t]:-}" ] || { echo "unknown target $t (known: ${all[*]})" >&2; exit 2; }
done

cd "$here"
unset CARGO_TARGET_DIR # cargo fuzz builds in fuzz/target
nice -n "${FUZZ_NICE:-10}" cargo +nightly fuzz build
mkdir -p logs

run_one() {
    local t="$1" log="logs/$1.log"
    mkdir -p "corpus/$t"
    echo "== $t: ${seconds}s, log fuzz/$log"
    # -malloc_limit_mb: a declared huge length must never be allocated.
    # -timeout=30: a unit takes milliseconds; 10 s alarms fired spuriously
    # on a loaded shared machine.
    # shellcheck disable=SC2086
    nice -n "${FUZZ_NICE:-10}" cargo +nightly fuzz run "$t" "corpus/$t" "$root/${seeds[$t]}" -- \
        -max_total_time="$seconds" -timeout=30 -malloc_limit_mb=64 -rss_limit_mb=2048 \
        -print_final_stats=1 ${FUZZ_ARGS:-} >"$log" 2>&1
}

summary() {
    local t="$1" log="logs/$1.log"
    local execs cov ft
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 || true)
    printf '%-16s %s execs=%s %s %s\n' "$t" "$2" "${execs:-?}" "${cov:-}" "${ft:-}"
}

failed=0
pids=()
names=()
reap() {
    local i="$1" status=ok
    wait "${pids[$i]}" || { status=FAILED; failed=1; }
    summary "${names[$i]}" "$status"
}
for t in "${targets[@]}"; do
    if [ ${#pids[@]} -ge "${FUZZ_JOBS:-1}" ]; then
        reap 0
        pids=("${pids[@]:1}")
        names=("${names[@]:1}")
    fi
    run_one "$t" &
    pids+=($!)
    names+=("$t")
done
for i in "${!pids[@]}"; do
    reap "$i"
done
exit "$failed"
