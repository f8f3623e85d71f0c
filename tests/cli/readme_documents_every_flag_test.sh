#!/usr/bin/env bash
# The README documents every flag of every subcommand: each `--flag` that
# `steadfast <subcommand> --help` lists must appear in README.md (help itself
# and --version excepted). A flag added without its documentation fails here.
# Usage: readme_documents_every_flag_test.sh STEADFAST_BIN README.md
set -euo pipefail
SF=$1
README=$2
missing=()
checked=()
# subcommands_of ARGS...: the subcommands `steadfast ARGS... --help` lists.
subcommands_of() { "$SF" "$@" --help | awk '/^Subcommands:/ {on = 1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on = 0}'; }
# check ARGS...: every flag of `steadfast ARGS...`, and of its subcommands.
check() {
  checked+=("$*")
  local flag sub
  for flag in $("$SF" "$@" --help | grep -oE -- '--[a-z][a-z0-9-]+' | sort -u); do
    [[ $flag == --help || $flag == --version ]] && continue
    grep -qF -- "$flag" "$README" || missing+=("steadfast $* $flag")
  done
  for sub in $(subcommands_of "$@"); do check "$@" "$sub"; done
}
top=$(subcommands_of)
[[ -n $top ]] || { echo "FAIL: no subcommands in steadfast --help" >&2; exit 1; }
for sub in $top; do check "$sub"; done
if ((${#missing[@]})); then
  echo "FAIL: flags the README does not mention:" >&2
  printf '  %s\n' "${missing[@]}" >&2
  exit 1
fi
echo "every flag of ${#checked[@]} (sub)commands is in the README: ${checked[*]}"
