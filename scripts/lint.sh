#!/usr/bin/env bash
# `make lint`: every tracked C and C++ file is formatted as clang-format writes it with the
# project's .clang-format, every shell script parses, and the OpenAPI document passes Redocly's
# lint (redocly.yaml). Lists what is not; exit 1 if any.
set -euo pipefail
cd "$(dirname "$0")/.."
status=0
unformatted=()
while IFS= read -r file; do
  clang-format --dry-run -Werror "$file" >/dev/null 2>&1 || unformatted+=("$file")
done < <(git ls-files '*.c' '*.cpp' '*.h' '*.hpp')
if ((${#unformatted[@]})); then
  echo "not formatted as clang-format writes them (run \`make format\`):" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  status=1
fi
while IFS= read -r script; do
  case "$(head -1 "$script")" in
    *bash*) bash -n "$script" || { echo "does not parse: $script" >&2; status=1; } ;;
    *sh*) sh -n "$script" || { echo "does not parse: $script" >&2; status=1; } ;;
  esac
done < <(git ls-files '*.sh' .ci/run)
# Redocly CLI, pinned in web/package.json; no telemetry, no update check.
redocly_out=$(mktemp)
if ! REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true web/node_modules/.bin/redocly lint \
  --config redocly.yaml --format stylish api/openapi/openapi.json >"$redocly_out" 2>&1; then
  grep -v '[║╔╚]' "$redocly_out" >&2
  echo "api/openapi/openapi.json does not pass redocly lint" >&2
  status=1
fi
rm -f "$redocly_out"
((status == 0)) && echo "lint: $(git ls-files '*.c' '*.cpp' '*.h' '*.hpp' | wc -l) C/C++ files formatted, scripts parse, the OpenAPI document lints clean"
exit "$status"
