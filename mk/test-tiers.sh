#!/usr/bin/env bash
# Usage: mk/test-tiers.sh UV   (UV: how the Makefile runs uv, e.g. "uv" or "python3 -m uv")
#
# The Python test tiers of `make test`: tests/unit first (a minute; a broken unit stops nothing
# but shows first), then tests/integration and tests/e2e side by side. The integration tier
# keeps about one core busy with the emulator and step scripts, while much of the e2e tier waits
# on browsers and servers, so on a two-core machine the pair takes about as long as the e2e tier
# alone. Each line of the two is prefixed with its tier; each tier ends with its time and
# status. Every tier runs even when an earlier one fails; the exit status is 1 if any failed.
#
# The tiers share nothing on disk but the repository: each test makes its own state under
# pytest's temporary folders and starts its servers on free ports. What both read from the
# repository (web/dist, build/) is written by `make setup` before this runs, and `make
# web-build` leaves an up-to-date web/dist untouched (mk/web.mk), so the AWS rehearsal in the e2e
# tier does not rebuild the site under the integration tier's feet.
set -uo pipefail

uv=${1:-uv}

tier() {
	local name=$1 start status
	start=$(date +%s)
	$uv run pytest "tests/$name" 2>&1 | sed -u "s/^/[$name] /"
	status=${PIPESTATUS[0]}
	echo "== tests/$name took $(($(date +%s) - start)) s (exit $status)"
	return "$status"
}

overall=0
echo "== tests/unit"
tier unit || overall=1

echo "== tests/integration and tests/e2e, side by side"
tier integration &
integration=$!
tier e2e &
e2e=$!
wait "$integration" || overall=1
wait "$e2e" || overall=1
exit "$overall"
