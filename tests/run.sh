#!/usr/bin/env bash
# Runs every test binary (unit and integration), checks that the generated
# docs are current, and runs the fuzz targets briefly on their seed corpus.
# Prints each binary's cmocka summary and a final "N passed, N failed".
set -u
BUILD=${BUILD:-build}
export RMON_BUILD=$BUILD RMON_SRCDIR=$PWD
pass=0
fail=0
failed=()

run_one() {
	local name=$1; shift
	echo "== $name"
	if "$@"; then
		pass=$((pass + 1))
	else
		echo "!! $name failed (exit $?)"
		fail=$((fail + 1))
		failed+=("$name")
	fi
}

for t in "$BUILD"/tests/test-*; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t")" timeout 300 "$t"
done

metrics_current() {
	local tmp
	tmp=$(mktemp)
	"$BUILD"/rmonctl metrics --markdown > "$tmp" && diff -u docs/metrics.md "$tmp"
	local rc=$?
	rm -f "$tmp"
	[ $rc -eq 0 ] || echo "docs/metrics.md differs from the schema table: run 'make docs'"
	return $rc
}
run_one docs-metrics metrics_current

if [ -z "${RMON_NO_FUZZ:-}" ] && [ -x tests/fuzz/run-smoke.sh ]; then
	run_one fuzz-smoke env BUILD="$BUILD" tests/fuzz/run-smoke.sh
fi

echo
if [ $fail -gt 0 ]; then
	echo "failed: ${failed[*]}"
fi
echo "tests: $pass passed, $fail failed"
[ $fail -eq 0 ]
