#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/demo_run.sh - runs the demo as a user would and checks that it finished: exit status 0, its
# summary printed, and what it said about each option it was given.
#
#   demo_run.sh unprivileged AUDIO_LOOP [options]  as an ordinary user with `ulimit -l 8192`: as root,
#                                                  setpriv to nobody and the group nogroup (or
#                                                  nobody, where that is its name), the binary copied
#                                                  to a temporary folder it can read; otherwise
#                                                  directly. Unless --no-lock is given, the demo must
#                                                  say that it locked its 4 MiB buffer (8 MiB may be
#                                                  locked).
#   demo_run.sh direct AUDIO_LOOP [options]        as the current user, limits as they are
#
# With --no-lock the demo must say that locking is off; with --no-rt, that real-time priority is.
# Exit 77 (skipped), saying why, when running as root without setpriv or without a group nogroup or
# nobody, or when `ulimit -l 8192` cannot be set (a hard limit below 8 MiB, not root).
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

# The ulimit for the unprivileged run: the soft limit if the hard one cannot be set; exit 77 from the
# shell (and from this script) if neither can be. (Expanded by that shell, hence the single quotes.)
# shellcheck disable=SC2016
limit='ulimit -l 8192 2>/dev/null || ulimit -S -l 8192 2>/dev/null ||
	{ echo "SKIP: cannot set ulimit -l 8192 (hard limit: $(ulimit -H -l))"; exit 77; }'
case $mode in
unprivileged)
	if [ "$(id -u)" = 0 ]; then
		if ! command -v setpriv >/dev/null 2>&1; then
			echo "SKIP: running as root and setpriv is missing (util-linux)"
			exit 77
		fi
		if getent group nogroup >/dev/null 2>&1; then
			group=nogroup
		elif getent group nobody >/dev/null 2>&1; then
			group=nobody
		else
			echo "SKIP: running as root and there is no group nogroup or nobody to run the demo as"
			exit 77
		fi
		chown nobody "$tmp/out" 2>/dev/null || chmod 777 "$tmp/out"
		# Root may raise the hard limit that nobody then sets (dash, bash and busybox sh have -l).
		# shellcheck disable=SC3045
		ulimit -l 8192 2>/dev/null
		# shellcheck disable=SC2016
		setpriv --reuid=nobody --regid="$group" --clear-groups \
			sh -c "$limit"'; cd "$1"; shift; exec ./audio_loop "$@"' \
			sh "$tmp" "$@" "$periods" "$tmp/out/audio_latency.svg" >"$out" 2>&1
	else
		# shellcheck disable=SC2016
		sh -c "$limit"'; cd "$1"; shift; exec ./audio_loop "$@"' \
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
if [ "$status" = 77 ] && grep -q '^SKIP: cannot set ulimit' "$out"; then
	exit 77
fi

fail() {
	echo "FAIL: $1"
	exit 1
}
[ "$status" = 0 ] || fail "audio_loop exited with status $status"
grep -q '^Summary: ' "$out" || fail "no summary printed"
grep -q '^Histograms: .*audio_latency.svg' "$out" || fail "the SVG was not written"
grep -q '</svg>' "$tmp/out/audio_latency.svg" || fail "the SVG is incomplete"
lock=yes
for option in "$@"; do
	case $option in
	--no-rt) grep -q 'real-time priority: off (--no-rt)' "$out" || fail "--no-rt not reported" ;;
	--no-lock)
		lock=no
		grep -q '^ *memory locking: *off (--no-lock)$' "$out" || fail "--no-lock not reported"
		;;
	esac
done
# With `ulimit -l 8192` the 4 MiB buffer fits: the demo must have locked it.
if [ "$mode" = unprivileged ] && [ "$lock" = yes ]; then
	grep -q "^ *memory locking: *the heap's 4 MiB buffer locked (mlock)$" "$out" ||
		fail "the buffer was not locked under ulimit -l 8192 (see the memory locking line)"
fi
echo "PASS"
