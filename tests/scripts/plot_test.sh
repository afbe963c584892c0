#!/usr/bin/env bash
# bench/plot draws what tickwire and Google Benchmark write:
#  1. the .hgrm files of a short `tickwire run --hgrm-dir` on the embedded
#     simulator become one line per stage, with the percentile axis;
#  2. a Google Benchmark JSON with repetitions is drawn from its medians, not
#     from its first run, per item where items are counted;
#  3. bad input is refused with exit 2, naming the file.
# Usage: plot_test.sh TICKWIRE_BINARY   (run by CTest from the source tree)
set -euo pipefail
tickwire=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
plot=$root/bench/plot
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# 1. A real run's histograms.
(cd "$work" && TICKWIRE_PUBLISH_TO='["inproc"]' TICKWIRE_JOURNAL_DIR="$work/journal" \
  "$tickwire" run -c "$root/config/default.toml" --no-status --max-messages 3000 --hgrm-dir hgrm > run.log 2>&1) ||
  fail "tickwire run: $(tail -5 "$work/run.log")"
for stage in parse encode ring_write publish received_to_ring; do
  [[ -s $work/hgrm/$stage.hgrm ]] || fail "no $stage.hgrm from tickwire run"
done
"$plot" hgrm "$work/stages.svg" "stages" "$work/hgrm/parse.hgrm" "$work/hgrm/encode.hgrm=encode (cap'n proto)" > /dev/null
grep -q '<svg' "$work/stages.svg" || fail "stages.svg is not an SVG"
grep -q '>parse<' "$work/stages.svg" || fail "stages.svg: no line labelled parse"
grep -q ">encode (cap'n proto)<" "$work/stages.svg" || fail "stages.svg: the given label is not used"
grep -q '>99.9%<' "$work/stages.svg" || fail "stages.svg: no 99.9% tick"
# One polyline per file: gnuplot draws each plotted line as a path.
paths=$(grep -c '<path' "$work/stages.svg")
((paths >= 2)) || fail "stages.svg: $paths paths"

# 2. Medians from a run with repetitions: runs at 40 and 50 ns, median 42.
cat > "$work/bench.json" <<'JSON'
{"context": {"date": "x"}, "benchmarks": [
 {"name": "BM_Floor", "run_name": "BM_Floor", "run_type": "iteration", "cpu_time": 40.0, "time_unit": "ns", "items_per_second": 25000000.0},
 {"name": "BM_Floor", "run_name": "BM_Floor", "run_type": "iteration", "cpu_time": 50.0, "time_unit": "ns", "items_per_second": 20000000.0},
 {"name": "BM_Floor_median", "run_name": "BM_Floor", "run_type": "aggregate", "aggregate_name": "median", "cpu_time": 42.0, "time_unit": "ns", "items_per_second": 23809523.8},
 {"name": "BM_Floor_mean", "run_name": "BM_Floor", "run_type": "aggregate", "aggregate_name": "mean", "cpu_time": 45.0, "time_unit": "ns", "items_per_second": 22222222.2},
 {"name": "BM_Pipeline", "run_name": "BM_Pipeline", "run_type": "iteration", "cpu_time": 0.125, "time_unit": "us", "items_per_second": 8000000.0},
 {"name": "BM_Other", "run_name": "BM_Other", "run_type": "iteration", "cpu_time": 7.0, "time_unit": "ns", "items_per_second": 1.0e9}
]}
JSON
"$plot" bench "$work/bench.svg" "floor vs pipeline" "$work/bench.json" 'Floor|Pipeline' 's/^BM_//' > /dev/null
grep -q '>Floor<' "$work/bench.svg" || fail "bench.svg: no bar labelled Floor (relabelled)"
grep -q '>Pipeline<' "$work/bench.svg" || fail "bench.svg: no bar labelled Pipeline"
grep -q '> 42<' "$work/bench.svg" || fail "bench.svg: Floor is not drawn at its median, 42 ns"
grep -q '> 125<' "$work/bench.svg" || fail "bench.svg: Pipeline is not 125 ns (0.125 us per item)"
grep -q 'Other' "$work/bench.svg" && fail "bench.svg: BM_Other does not match and must not be drawn"
grep -q 'CPU time per item' "$work/bench.svg" || fail "bench.svg: the axis does not say per item"

# 3. Bad input: exit 2 and the file named.
echo 'not a histogram' > "$work/bad.hgrm"
set +e
out=$("$plot" hgrm "$work/x.svg" t "$work/bad.hgrm" 2>&1); rc=$?
set -e
((rc == 2)) || fail "a file without percentile rows: exit $rc, want 2"
[[ $out == *bad.hgrm* ]] || fail "the refusal does not name the file: $out"
set +e
out=$("$plot" bench "$work/x.svg" t "$work/bench.json" 'NoSuchBenchmark' 2>&1); rc=$?
set -e
((rc == 2)) || fail "no matching benchmark: exit $rc, want 2"
[[ $out == *NoSuchBenchmark* ]] || fail "the refusal does not name the pattern: $out"
echo "plot_test: ok"
