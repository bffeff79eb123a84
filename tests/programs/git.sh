#!/bin/sh
# SPDX-License-Identifier: MIT
# A repository for tests/programs/run.sh: commits with fixed dates, a branch and a merge, a rename,
# a gc and an fsck; prints what a user would look at. The same every time (fixed identities and dates).
set -e
dir=$1
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.org
export GIT_AUTHOR_DATE="2026-01-01T00:00:00 +0000" GIT_COMMITTER_DATE="2026-01-01T00:00:00 +0000"
export GIT_CONFIG_NOSYSTEM=1 HOME=$PWD
git init -q -b main "$dir"
cd "$dir"
i=0
while [ $i -lt 40 ]; do
	j=0
	while [ $j -lt 20 ]; do
		echo "line $i $j $(printf '%0100d' $((i * j)))" >> "file$((j % 7)).txt"
		j=$((j + 1))
	done
	git add -A
	git commit -q -m "commit $i"
	i=$((i + 1))
done
git checkout -q -b side HEAD~10
echo side >> side.txt
git add side.txt
git commit -q -m side
git checkout -q main
git merge -q --no-edit side
git mv file1.txt renamed.txt
git commit -q -m rename
git gc -q
git fsck --strict 2>&1
git log --oneline --stat | head -40
git rev-parse HEAD
git diff HEAD~20 --stat
git count-objects -v | grep -v size
