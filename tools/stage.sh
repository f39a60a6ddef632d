#!/usr/bin/env bash
# Time one stage of the test run and append it to $STAGE_LOG; print the table on failure
# or with --report.  Usage: tools/stage.sh NAME COMMAND [ARGS...] | tools/stage.sh --report
set -u
LOG=${STAGE_LOG:-book/_build/stage-times.txt}
mkdir -p "$(dirname "$LOG")"
report() {
  echo
  echo "== stage timings (wall seconds) =="
  [ -f "$LOG" ] && cat "$LOG"
  awk '{s += $2} END {printf "%-10s %8.1f s\n", "total", s}' "$LOG" 2>/dev/null
}
if [ "${1:-}" = "--report" ]; then report; exit 0; fi
name=$1; shift
echo "== stage: $name"
start=$(date +%s.%N)
"$@"; rc=$?
end=$(date +%s.%N)
status=ok; [ $rc -eq 0 ] || status=FAILED
printf "%-10s %8.1f s  %s\n" "$name" "$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}')" "$status" >> "$LOG"
if [ $rc -ne 0 ]; then report; fi
exit $rc
