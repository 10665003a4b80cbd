#!/usr/bin/env bash
# Coverage-guided fuzzing of Fillgraph's input parsers with libFuzzer (the Swift toolchain's
# own). The targets live in Fuzz/, a separate package that depends on this one; every Swift
# module (the parsers, not only the harnesses) is built with -sanitize=fuzzer,address and the C
# shims with -fsanitize=fuzzer-no-link,address. Docs/testing.md ("Coverage-guided fuzzing")
# records the last results.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGETS=(FuzzPickle FuzzZip FuzzNpy FuzzTFIndex FuzzModel FuzzYAML FuzzImage)
RUNS=1000000
MAX_TIME=1200
OUT="$ROOT/Fuzz/corpus-out"
EXTRA=()
LEAKS=1
BUILD=1

usage() {
    cat <<EOF
Usage: Tools/fuzz.sh [options] [command] [target...]

Commands:
  build              build the fuzz targets (Fuzz/.build, sanitizers fuzzer + address)
  seeds              regenerate the seed corpora Fuzz/corpus/<target>/ (and the hostile corpus
                     they draw on) with Tools/fixtures/make_hostile_corpus.py; needs
                     .build/release/graphc (swift build -c release --product graphc)
  run [target...]    build, then fuzz each target (default: all) in turn    [the default command]
  list               print the target names

Targets: ${TARGETS[*]}

Options:
  --runs N           executions per target (default $RUNS; libFuzzer's -runs)
  --max-time S       stop a target after S seconds even if it has not done --runs (default $MAX_TIME)
  --out DIR          grown corpora, crash/timeout/OOM reproducers and logs (default Fuzz/corpus-out;
                     git-ignored): DIR/<target>/{corpus,artifacts,log.txt}
  --no-build         run the targets as last built (skip the build step of 'run')
  --no-leaks         do not stop at memory leaks (LeakSanitizer off, per input and at exit): to
                     fuzz on past a known leak
  -- ARGS            pass the remaining arguments to libFuzzer
  -h, --help         this help

Each target runs with -rss_limit_mb=2048 -timeout=10 and a -max_len suited to its format, on its
seed corpus Fuzz/corpus/<target>/ (read only; new inputs go to DIR/<target>/corpus). A crash,
timeout or OOM stops that target; its reproducer is DIR/<target>/artifacts/*, and the summary
at the end says which. Re-run one input: Fuzz/.build/release/<target> FILE.

Exit statuses in the summary (libFuzzer's): 0 done (-runs or --max-time reached), 1 a sanitizer
report (crash, overflow...), 77 a leak or other libFuzzer-detected bug, 70 a timeout (-timeout),
72 interrupted (SIGINT/SIGTERM: the shell or session running it ended; not a finding). An RSS
over the limit is reported as "out-of-memory" with an oom-* reproducer.
EOF
}

max_len() {
    case $1 in
        FuzzPickle) echo 16384 ;; FuzzZip) echo 65536 ;; FuzzNpy) echo 8192 ;; FuzzTFIndex) echo 16384 ;;
        FuzzModel) echo 65536 ;; FuzzYAML) echo 16384 ;; FuzzImage) echo 32768 ;;
        *) echo "unknown target $1" >&2; exit 2 ;;
    esac
}

build() {
    local swiftc lld toolset
    swiftc=$(readlink -f "$(command -v swiftc)")
    lld="$(dirname "$swiftc")/ld.lld"
    [[ -x $lld ]] || { echo "fuzz.sh: no ld.lld next to $swiftc (gold cannot link libFuzzer into Swift executables)" >&2; exit 1; }
    mkdir -p "$ROOT/Fuzz/.build"
    toolset="$ROOT/Fuzz/.build/toolset.json"
    printf '{"schemaVersion": "1.0", "linker": {"path": "%s"}}\n' "$lld" > "$toolset"
    swift build --package-path "$ROOT/Fuzz" --scratch-path "$ROOT/Fuzz/.build" -c release --toolset "$toolset" \
        -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address
    # The commit the binaries were built from ("-dirty": with uncommitted changes), for the record.
    git -C "$ROOT" describe --always --dirty --abbrev=12 > "$ROOT/Fuzz/.build/built-from.txt" 2>/dev/null || echo unknown > "$ROOT/Fuzz/.build/built-from.txt"
}

seeds() {
    [[ -x $ROOT/.build/release/graphc ]] || { echo "fuzz.sh: build graphc first: swift build -c release --product graphc" >&2; exit 1; }
    python3 "$ROOT/Tools/fixtures/make_hostile_corpus.py" --seeds "$ROOT/Fuzz/corpus"
}

run_one() {
    local t=$1 dir="$OUT/$1" status=0
    mkdir -p "$dir/corpus" "$dir/artifacts"
    echo "== $t: -runs=$RUNS -max_total_time=$MAX_TIME -max_len=$(max_len "$t")"
    ASAN_OPTIONS="detect_leaks=$LEAKS${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
    "$ROOT/Fuzz/.build/release/$t" -runs="$RUNS" -detect_leaks="$LEAKS" -max_total_time="$MAX_TIME" -rss_limit_mb=2048 -timeout=10 \
        -max_len="$(max_len "$t")" -print_final_stats=1 -artifact_prefix="$dir/artifacts/" \
        ${EXTRA[@]+"${EXTRA[@]}"} "$dir/corpus" "$ROOT/Fuzz/corpus/$t" > "$dir/log.txt" 2>&1 || status=$?
    local done_line execs rate
    done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$dir/log.txt" | tail -1 || true)
    execs=$(grep -oE 'stat::number_of_executed_units: +[0-9]+' "$dir/log.txt" | tail -1 | grep -oE '[0-9]+$' || echo "?")
    rate=$(grep -oE 'stat::average_exec_per_sec: +[0-9]+' "$dir/log.txt" | tail -1 | grep -oE '[0-9]+$' || echo "?")
    local found built
    found=$(ls "$dir/artifacts" 2>/dev/null | tr '\n' ' ')
    built=$(cat "$ROOT/Fuzz/.build/built-from.txt" 2>/dev/null || echo "?")
    # corp: the inputs libFuzzer keeps (count/size); the corpus folder also holds superseded ones.
    printf '%-12s exit %-3s executions %-9s exec/s %-6s %s  built from %s %s\n' "$t" "$status" "$execs" "$rate" \
        "$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[0-9]+[a-zA-Z]*' <<< "$done_line" || true)" "$built" \
        "${found:+findings: $found}" | tee -a "$OUT/summary.txt"
    return 0
}

COMMAND=""
ARGS=()
while (($#)); do
    case $1 in
        -h|--help) usage; exit 0 ;;
        --runs) RUNS=$2; shift 2 ;;
        --max-time) MAX_TIME=$2; shift 2 ;;
        --out) OUT=$(mkdir -p "$2" && cd "$2" && pwd); shift 2 ;;
        --no-leaks) LEAKS=0; shift ;;
        --no-build) BUILD=0; shift ;;
        --) shift; EXTRA=("$@"); break ;;
        build|seeds|run|list) [[ -z $COMMAND ]] && COMMAND=$1 || ARGS+=("$1"); shift ;;
        Fuzz*) ARGS+=("$1"); shift ;;
        *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
COMMAND=${COMMAND:-run}

case $COMMAND in
    list) printf '%s\n' "${TARGETS[@]}" ;;
    build) build ;;
    seeds) seeds ;;
    run)
        ((${#ARGS[@]})) || ARGS=("${TARGETS[@]}")
        for t in "${ARGS[@]}"; do max_len "$t" > /dev/null; done
        ((BUILD)) && build
        mkdir -p "$OUT"
        for t in "${ARGS[@]}"; do run_one "$t"; done
        echo "summary: $OUT/summary.txt; logs: $OUT/<target>/log.txt"
        ;;
esac
