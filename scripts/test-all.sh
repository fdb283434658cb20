#!/usr/bin/env bash
# Everything CI runs, in one command, on a fresh Debian machine (root, or a user with sudo):
#   1. system packages the tests need (Ceph RGW, Chromium), installed only when missing
#   2. npm ci (when node_modules is missing or older than package-lock.json)
#   3. npm run build, npm run typecheck, npm run lint
#   4. the vitest suite against an embedded s3rver
#   5. the same suite against a throwaway Ceph RGW (scripts/rgw.sh), always stopped afterwards
# Every step runs even when an earlier one failed (except when npm ci fails: nothing can run without it), and
# the run ends with a summary whose last line is "Tests: N passed, N failed, N skipped" (both suites added up).
# Exit status: 0 when every step passed, 1 otherwise.
#
# Usage: bash scripts/test-all.sh        (npm run test:all)
# Environment: TEST_ALL_OUT (default: a new temp dir) keeps each suite's vitest JSON report and output;
#              SUITE_TIMEOUT (default 1800) seconds after which a hung vitest run is killed;
#              RGW_* as in scripts/rgw.sh (ports, data dir). A gateway that is already running is used and
#              left running; one this script started is stopped on exit.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
export CI=${CI:-true}
export DEBIAN_FRONTEND=noninteractive
OUT=${TEST_ALL_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/nunjucks-s3-test-all.XXXXXX")}
mkdir -p "$OUT"
T_START=$(date +%s)

declare -a STEP_NAMES=() STEP_RESULTS=()
FAILED_STEPS=()
record() { # name result ok|fail
  STEP_NAMES+=("$1")
  STEP_RESULTS+=("$2")
  [ "$3" = ok ] || FAILED_STEPS+=("$1")
}
section() {
  printf '\n==== %s ====  (%ds)\n' "$*" $(($(date +%s) - T_START))
}
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo "$@"
  else
    echo "test-all: not root and no sudo: cannot run $*" >&2
    return 1
  fi
}

RGW_STARTED=0
cleanup() {
  if [ "$RGW_STARTED" = 1 ]; then
    section "stopping Ceph RGW"
    bash scripts/rgw.sh stop
    RGW_STARTED=0
  fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# ---------------------------------------------------------------------------------------------------------
section "1/7 system packages (ceph-mon ceph-osd radosgw chromium)"
NODE_MAJOR=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$NODE_MAJOR" -lt 20 ]; then
  echo "test-all: Node.js >= 20 with npm is needed (found: $(node -v 2>/dev/null || echo none))" >&2
  printf '\nTests: 0 passed, 1 failed, 0 skipped\n'
  exit 1
fi
echo "node $(node -v), npm $(npm -v 2>/dev/null)"
missing=()
pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# package:binaries it must provide
for spec in ceph-mon:ceph-mon,monmaptool ceph-osd:ceph-osd radosgw:radosgw,radosgw-admin chromium:chromium; do
  pkg=${spec%%:*}
  bins=${spec#*:}
  ok=1
  for b in ${bins//,/ }; do command -v "$b" >/dev/null || ok=0; done
  if command -v dpkg-query >/dev/null && ! pkg_installed "$pkg"; then ok=0; fi
  [ $ok = 1 ] || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "all present"
  record "system packages" "ok (all present)" ok
elif ! command -v apt-get >/dev/null; then
  echo "test-all: missing ${missing[*]} and no apt-get; install them by hand" >&2
  record "system packages" "FAILED (missing ${missing[*]}, no apt-get)" fail
else
  echo "installing: ${missing[*]}"
  if as_root apt-get update -q && as_root apt-get install -y -q --no-install-recommends "${missing[@]}"; then
    record "system packages" "ok (installed ${missing[*]})" ok
  else
    record "system packages" "FAILED (apt-get install ${missing[*]})" fail
  fi
fi

# ---------------------------------------------------------------------------------------------------------
section "2/7 npm ci"
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] ||
  [ package-lock.json -nt node_modules/.package-lock.json ]; then
  if npm ci --no-audit --no-fund; then
    record "npm ci" "ok" ok
  else
    record "npm ci" "FAILED" fail
    echo "test-all: npm ci failed; nothing else can run" >&2
    printf '\nTests: 0 passed, 1 failed, 0 skipped\n'
    exit 1
  fi
else
  echo "node_modules is up to date with package-lock.json"
  record "npm ci" "ok (up to date)" ok
fi

# ---------------------------------------------------------------------------------------------------------
for script in build typecheck lint; do
  case $script in build) n=3 ;; typecheck) n=4 ;; lint) n=5 ;; esac
  section "$n/7 npm run $script"
  if npm run "$script"; then
    record "$script" "ok" ok
  else
    record "$script" "FAILED" fail
  fi
done

# ---------------------------------------------------------------------------------------------------------
TOTAL_PASSED=0 TOTAL_FAILED=0 TOTAL_SKIPPED=0
SUITE_TIMEOUT=${SUITE_TIMEOUT:-1800}
NO_REPORT_LOGS=()
# Runs the vitest suite with the given backend; records "N passed, N failed, N skipped" for it.
run_suite() {
  local backend=$1 json=$OUT/vitest-$1.json log=$OUT/vitest-$1.log counts status
  rm -f "$json"
  # A hung suite must not eat CI's 90 minutes: give up after SUITE_TIMEOUT seconds. The output is also kept
  # in $log, whose end the summary repeats when the run wrote no report (a crash says why only there).
  S3_BACKEND=$backend timeout --kill-after=30 "$SUITE_TIMEOUT" \
    npx vitest run --reporter=default --reporter=json --outputFile.json="$json" 2>&1 | tee "$log"
  status=${PIPESTATUS[0]}
  [ "$status" = 124 ] && echo "test-all: the $backend suite timed out after ${SUITE_TIMEOUT}s" >&2
  # A test file that fails to load has no failed test, only a failed file: count it as one failure.
  counts=$(node -e '
    const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
    let brokenFiles = 0;
    for (const f of r.testResults ?? []) {
      if (f.status === "failed" && !(f.assertionResults ?? []).some((a) => a.status === "failed")) brokenFiles++;
    }
    console.log(r.numPassedTests, r.numFailedTests + brokenFiles, r.numPendingTests + r.numTodoTests);
  ' "$json" 2>/dev/null) || counts=""
  if [ -z "$counts" ]; then
    record "vitest ($backend)" "FAILED (no test report; vitest exit $status)" fail
    NO_REPORT_LOGS+=("$log")
    TOTAL_FAILED=$((TOTAL_FAILED + 1))
    return
  fi
  read -r p f s <<<"$counts"
  TOTAL_PASSED=$((TOTAL_PASSED + p)) TOTAL_FAILED=$((TOTAL_FAILED + f)) TOTAL_SKIPPED=$((TOTAL_SKIPPED + s))
  if [ "$status" = 0 ] && [ "$f" = 0 ]; then
    record "vitest ($backend)" "$p passed, $f failed, $s skipped" ok
  else
    record "vitest ($backend)" "FAILED: $p passed, $f failed, $s skipped (vitest exit $status)" fail
  fi
}

section "6/7 vitest on s3rver (embedded)"
run_suite s3rver

# ---------------------------------------------------------------------------------------------------------
section "7/7 vitest on Ceph RGW"
if bash scripts/rgw.sh status >/dev/null 2>&1; then
  echo "using the Ceph RGW that is already running (left running afterwards)"
  rgw_ok=1
elif RGW_STARTED=1 && bash scripts/rgw.sh start; then
  rgw_ok=1
else
  rgw_ok=0
fi
if [ $rgw_ok = 1 ] && rgw_env=$(bash scripts/rgw.sh env); then
  # Only the RGW suite runs after this point, so the gateway's S3_ENDPOINT/AWS_* can go into this shell.
  eval "$rgw_env"
  echo "S3_ENDPOINT=$S3_ENDPOINT"
  run_suite rgw
else
  record "vitest (rgw)" "FAILED (Ceph RGW did not start; see above)" fail
  TOTAL_FAILED=$((TOTAL_FAILED + 1))
fi
cleanup

# ---------------------------------------------------------------------------------------------------------
for log in "${NO_REPORT_LOGS[@]}"; do
  section "the end of $log (that run wrote no report)"
  # Without the AWS SDK's notice about node versions, which every child process prints.
  grep -av 'NodeVersionSupportWarning\|versions published after\|will require node\|To continue receiving\|and security updates\|More information can be found\|trace-warnings' "$log" |
    tail -n 40
done

section "summary"
for i in "${!STEP_NAMES[@]}"; do
  printf '  %-18s %s\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}"
done
echo "  vitest JSON reports and output: $OUT"
if [ ${#FAILED_STEPS[@]} -eq 0 ]; then
  echo "test-all: OK in $(($(date +%s) - T_START))s"
  rc=0
else
  echo "test-all: FAILED ($(
    IFS=,
    echo "${FAILED_STEPS[*]}"
  )) in $(($(date +%s) - T_START))s"
  rc=1
fi
printf 'Tests: %d passed, %d failed, %d skipped\n' "$TOTAL_PASSED" "$TOTAL_FAILED" "$TOTAL_SKIPPED"
exit $rc
