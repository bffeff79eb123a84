#!/bin/sh
# SPDX-License-Identifier: MIT
# amalgamate.sh - writes libmemoman's lower layer as two files that drop into any project, the way
# TLSF 3.1's tlsf.c + tlsf.h do:
#
#   tlsf.h     the TLSF 3.1 API (include/memoman/tlsf.h), unchanged;
#   tlsf.c     every source of libmemoman (src/tlsf.c src/tlsf_compat.c src/observe.c src/fixed.c
#              src/heap.c src/heap_config.c today) with every project header they include (memoman.h,
#              memoman/config.h, fixed.h, heap.h and the private ones) pasted in once, at its first
#              #include; it includes "tlsf.h" from its own folder, nothing else of the project;
#   memoman.h  memoman's own API (memoman.h with config.h, fixed.h and heap.h pasted in), for code
#              that calls mm_* as well: optional, tlsf.c does not need it.
#
# Usage: scripts/amalgamate.sh [OUT_DIR] [SOURCE_DIR]   (defaults: ./amalgamation and the folder
# above this script). `make amalgamation` runs it; the CMake build runs it at build time (target
# `amalgamation`), so the result is always made from the sources as they are, never a stored copy.
# Needs only a POSIX sh and awk.
#
# How it works: awk reads each file line by line; a line `#include "name"` whose target (relative to
# the including file) is a file of the project is replaced by that file's text, the first time only
# (every project header has an include guard, so the later copies would be empty anyway); system
# includes (<...>) and computed ones (#include MM_CONFIG_HEADER) are kept as they are. #line
# directives point compiler messages back at the original files.
#
# Each source was a translation unit of its own, so two of them may hold file-scope statics (or
# file-local macros) of the same name. Before a source, every static it defines at file scope is
# renamed with a macro (`#define free_core heap_c_free_core`), and after it those macros and the
# source's own macros are #undef'd. A name that also occurs in a project header is left alone (a
# rename there would reach the header's text); if two sources ever share such a name, the test of
# the amalgamation fails to compile and says which.
#
# The sources are libmemoman's, read from the `set(MEMOMAN_SOURCES ...)` line of CMakeLists.txt, so a
# source added to the library is in the amalgamation too. Those that define a feature-test macro
# (observe.c: _POSIX_C_SOURCE) go first, since such a macro only works before the first system header.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-amalgamation}
src=${2:-$here/..}
src=$(cd "$src" && pwd)
mkdir -p "$out"

HEADERS=$(cd "$src" && find include src -name '*.h' | sort | tr '\n' ' ')
listed=$(sed -n 's/^set(MEMOMAN_SOURCES[[:space:]]\{1,\}\([^)]*\))[[:space:]]*$/\1/p' "$src/CMakeLists.txt")
if [ -z "$listed" ]; then
	echo "amalgamate.sh: no set(MEMOMAN_SOURCES ...) line in $src/CMakeLists.txt" >&2
	exit 1
fi
first="" rest=""
for f in $listed; do
	if grep -q '^#[[:space:]]*define[[:space:]]\{1,\}_[A-Z_]*SOURCE' "$src/$f"; then
		first="$first $f"
	else
		rest="$rest $f"
	fi
done
SOURCES="$first$rest"

# amalgamate ROOT OUTPUT BANNER MAPPED FILE...: pastes FILE... (paths relative to ROOT) into OUTPUT.
# MAPPED is "path=replacement": an #include of that project file becomes `#include "replacement"`.
amalgamate() {
	root=$1 output=$2 banner=$3 mapped=$4
	shift 4
	awk -v root="$root" -v banner="$banner" -v mapped="$mapped" -v headers="$HEADERS" '
	# normalize("a/b/../c/./d") = "a/c/d"
	function normalize(path,    n, parts, i, stack, depth, result) {
		n = split(path, parts, "/")
		depth = 0
		for (i = 1; i <= n; i++) {
			if (parts[i] == "" || parts[i] == ".") continue
			if (parts[i] == ".." && depth > 0) { depth--; continue }
			stack[++depth] = parts[i]
		}
		result = ""
		for (i = 1; i <= depth; i++) result = result (i > 1 ? "/" : "") stack[i]
		return result
	}
	function dirname(path) { return sub(/\/[^\/]*$/, "", path) ? path : "." }
	function exists(path,    line, ok) {
		ok = (getline line < (root "/" path)) >= 0
		close(root "/" path)
		return ok
	}
	# words(path, set): every identifier of the file at root/path, as keys of set.
	function words(path, set,    line, n, w, i) {
		while ((getline line < (root "/" path)) > 0) {
			gsub(/[^A-Za-z0-9_]+/, " ", line)
			n = split(line, w, " ")
			for (i = 1; i <= n; i++) set[w[i]] = 1
		}
		close(root "/" path)
	}
	# locals(path): renames the file-scope statics of a source; sets undefs to what to #undef after it.
	function locals(path,    line, base, head, n, w, name, done) {
		base = path
		sub(/^.*\//, "", base)
		gsub(/[^A-Za-z0-9_]/, "_", base)
		undefs = ""
		while ((getline line < (root "/" path)) > 0) {
			if (line ~ /^#[ \t]*define[ \t]+[A-Za-z][A-Za-z0-9_]*/) {
				name = line
				sub(/^#[ \t]*define[ \t]+/, "", name)
				sub(/[^A-Za-z0-9_].*$/, "", name)
				if (!(name in done)) { done[name] = 1; undefs = undefs " " name }
				continue
			}
			if (line !~ /^(static|MM_INLINE)[ \t]/) continue
			head = line
			sub(/[(=\[;].*$/, "", head)
			if (head ~ /[ \t*]$/) continue # a function pointer: (*name)
			n = split(head, w, /[ \t*]+/)
			name = w[n]
			if (name in header_words || name in done) continue
			done[name] = 1
			print "#define " name " " base "_" name
			undefs = undefs " " name
		}
		close(root "/" path)
	}
	# emit(path): the file at root/path, its project includes pasted in once.
	function emit(path,    line, lineno, name, target) {
		print "#line 1 \"" path "\""
		lineno = 0
		while ((getline line < (root "/" path)) > 0) {
			lineno++
			if (line ~ /^[ \t]*#[ \t]*include[ \t]*"[^"]*"/) {
				name = line
				sub(/^[^"]*"/, "", name)
				sub(/".*$/, "", name)
				target = normalize(dirname(path) "/" name)
				if (target == map_from) {
					if (!(target in seen)) print "#include \"" map_to "\""
					seen[target] = 1
					continue
				}
				if (exists(target)) {
					if (!(target in seen)) {
						seen[target] = 1
						emit(target)
						print "#line " (lineno + 1) " \"" path "\""
					}
					continue
				}
			}
			print line
		}
		close(root "/" path)
	}
	BEGIN {
		split(mapped, m, "=")
		map_from = m[1]
		map_to = m[2]
		print "/*"
		print " * " banner
		print " *"
		print " * GENERATED by scripts/amalgamate.sh from memoman'"'"'s sources: edit those, not this file."
		print " */"
		if (ARGV[1] ~ /\.c$/) {
			# clang (not gcc) warns about an unused static inline function of the main file, which
			# the helpers of the private headers now are: a -Wall -Werror project must still build this.
			print "#if defined(__clang__)"
			print "#pragma clang diagnostic ignored \"-Wunused-function\""
			print "#endif"
		}
		nh = split(headers, hl, " ")
		for (i = 1; i <= nh; i++) words(hl[i], header_words)
		for (i = 1; i < ARGC; i++) {
			if (ARGV[i] ~ /\.c$/) locals(ARGV[i])
			else undefs = ""
			emit(ARGV[i])
			n = split(undefs, u, " ")
			for (j = 1; j <= n; j++) print "#undef " u[j]
		}
		exit 0
	}' "$@" > "$output.tmp"
	mv "$output.tmp" "$output"
}

amalgamate "$src" "$out/tlsf.h" \
	"tlsf.h - the TLSF 3.1 API served by memoman (include/memoman/tlsf.h); goes with tlsf.c." \
	"" include/memoman/tlsf.h
amalgamate "$src" "$out/memoman.h" \
	"memoman.h - memoman's own API (include/memoman.h and the headers it includes); optional with tlsf.c." \
	"" include/memoman.h
# shellcheck disable=SC2086 # SOURCES is a list of words
amalgamate "$src" "$out/tlsf.c" \
	"tlsf.c - all of libmemoman (TLSF core, TLSF 3.1 API, fixed pools, composed heap) in one file; compile it with tlsf.h beside it." \
	"include/memoman/tlsf.h=tlsf.h" $SOURCES
