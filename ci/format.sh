#!/usr/bin/env bash
# format.sh: the style checks: C formatted as .clang-format says, Python
# indented with four spaces.  Reads, never rewrites.
set -euo pipefail

usage() {
	cat <<'EOF'
usage: ci/format.sh [--help]

  format:c       clang-format --dry-run -Werror (the repository's
                 .clang-format) over every C file in core/, backends/,
                 suite/ and tests/
  format:python  every Python file indents with four spaces per level:
                 no tab, every indentation a multiple of four
                 (python3 -m tabnanny, then the indentation tokens)
One `PASS format:<check>` or `FAIL format:<check>` line per check, with
the files and lines at fault and the command that fixes C files, then
`N passed, N failed`.  Files are git's (the tracked ones), or every file
below the repository outside a git checkout.  About a second.

  --help   this text
EOF
}

# shellcheck source=ci/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$TB_ROOT"

case "${1:-}" in
--help | -h)
	usage
	exit 0
	;;
"") ;;
*) tb_die "unknown option $1 (see ci/format.sh --help)" ;;
esac
command -v clang-format >/dev/null ||
	tb_die "clang-format not found: apt-get install clang-format"

# files NAME-PATTERN... : the repository's files matching any pattern
files() {
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git ls-files -- "$@"
	else
		local p args=()
		for p in "$@"; do
			args+=(-o -path "./$p")
		done
		find . -type f \( "${args[@]:1}" \) -not -path './build/*' |
			sed 's|^\./||' | sort
	fi
}

passed=0
failed=0
result() { # result CHECK OK DETAIL
	if (($2)); then
		echo "PASS format:$1 ($3)"
		passed=$((passed + 1))
	else
		echo "FAIL format:$1 ($3)"
		failed=$((failed + 1))
	fi
}

mapfile -t c_files < <(files 'core/*.[ch]' 'backends/*.[ch]' \
	'suite/*.[ch]' 'tests/*.[ch]')
bad=()
for f in "${c_files[@]}"; do
	clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || bad+=("$f")
done
if ((${#bad[@]})); then
	result c 0 "${#bad[@]} of ${#c_files[@]} files differ from .clang-format; fix: clang-format -i ${bad[*]}"
	for f in "${bad[@]:0:3}"; do
		clang-format --dry-run "$f" 2>&1 | head -n 6 | sed 's/^/    /'
	done
else
	result c 1 "${#c_files[@]} files"
fi

mapfile -t py_files < <(files '*.py')
out=$("$TB_PY" - "${py_files[@]}" <<'EOF' 2>&1
import sys
import tabnanny
import tokenize

bad = []
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        tokens = list(tokenize.tokenize(f.readline))
    for tok in tokens:
        if tok.type != tokenize.INDENT:
            continue
        if '\t' in tok.string or len(tok.string) % 4:
            bad.append('%s:%d: indented %r' % (path, tok.start[0],
                tok.string))
            break
    tabnanny.verbose = 0
    tabnanny.check(path)  # prints the file on an ambiguous tab
for line in bad:
    print(line)
EOF
)
if [[ -n $out ]]; then
	result python 0 "not four spaces per level; see below"
	sed 's/^/    /' <<<"$out" | head -n 20
else
	result python 1 "${#py_files[@]} files"
fi

echo "$passed passed, $failed failed"
((failed == 0))
