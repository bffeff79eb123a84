#!/bin/sh
# tests/demo_run.sh - runs the demo as a user would and checks that it finished: exit status 0, its
# summary printed, and what it said about each option it was given.
#
#   demo_run.sh unprivileged AUDIO_LOOP [options]  as an ordinary user with `ulimit -l 8192`: as root,
#                                                  setpriv to nobody (the binary copied to a temporary
#                                                  folder it can read); otherwise directly
#   demo_run.sh direct AUDIO_LOOP [options]        as the current user, limits as they are
#
# Exit 77 (skipped) when running as root without setpriv.
set -u
mode=$1
bin=$2
shift 2
periods=2000

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memoman-demo.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
chmod 755 "$tmp"
cp "$bin" "$tmp/audio_loop" || exit 1
chmod 755 "$tmp/audio_loop"
mkdir "$tmp/out"
out="$tmp/out/log"

case $mode in
unprivileged)
	if [ "$(id -u)" = 0 ]; then
		if ! command -v setpriv >/dev/null 2>&1; then
			echo "SKIP: running as root and setpriv is missing (util-linux)"
			exit 77
		fi
		chown nobody "$tmp/out" 2>/dev/null || chmod 777 "$tmp/out"
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
			sh -c 'ulimit -l 8192 2>/dev/null || ulimit -S -l 8192; cd "$1"; shift; exec ./audio_loop "$@"' \
			sh "$tmp" "$@" "$periods" "$tmp/out/audio_latency.svg" >"$out" 2>&1
	else
		sh -c 'ulimit -l 8192 2>/dev/null || ulimit -S -l 8192; cd "$1"; shift; exec ./audio_loop "$@"' \
			sh "$tmp" "$@" "$periods" "$tmp/out/audio_latency.svg" >"$out" 2>&1
	fi
	;;
direct)
	"$tmp/audio_loop" "$@" "$periods" "$tmp/out/audio_latency.svg" >"$out" 2>&1
	;;
*)
	echo "usage: $0 unprivileged|direct AUDIO_LOOP [options]"
	exit 2
	;;
esac
status=$?
cat "$out"

fail() {
	echo "FAIL: $1"
	exit 1
}
[ "$status" = 0 ] || fail "audio_loop exited with status $status"
grep -q '^Summary: ' "$out" || fail "no summary printed"
grep -q '^Histograms: .*audio_latency.svg' "$out" || fail "the SVG was not written"
grep -q '</svg>' "$tmp/out/audio_latency.svg" || fail "the SVG is incomplete"
for option in "$@"; do
	case $option in
	--no-rt) grep -q 'real-time priority: off (--no-rt)' "$out" || fail "--no-rt not reported" ;;
	--no-lock) grep -q 'memory locking: *off (--no-lock)' "$out" || fail "--no-lock not reported" ;;
	esac
done
echo "PASS"
