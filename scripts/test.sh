#!/usr/bin/env bash
# Runs the whole test suite on a fresh Debian machine with the .NET 10 SDK: installs what the tests need,
# builds once in Release, runs every test project, and ends with one "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."

# :: Step 1: system packages the tests use (none are needed by the foundation yet; later features add theirs
# to scripts/apt-packages.txt). Installed only when missing, so a developer's machine is left alone.
if [ -s scripts/apt-packages.txt ]; then
  missing=()
  while read -r pkg; do
    [ -z "$pkg" ] || [[ "$pkg" == \#* ]] && continue
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done < scripts/apt-packages.txt
  if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing: ${missing[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
  fi
fi

# :: Step 1b: PGlite (PostgreSQL with pgvector, in WebAssembly) for the pgvector tests; Debian 12 packages no pgvector.
# Installed from its lock, again only when the lock changed. Debian's nodejs comes without npm; NodeSource's has it.
pglite=tests/tools/pglite
if ! command -v npm >/dev/null 2>&1; then
  echo "Installing: npm"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq npm
fi
command -v npm >/dev/null 2>&1 || { echo "npm is missing; install Node.js with npm (the pgvector tests run PGlite in it)." >&2; exit 1; }
lock=$(sha256sum "$pglite/package-lock.json" | cut -d' ' -f1)
if [ "$(cat "$pglite/node_modules/.sov-lock" 2>/dev/null)" != "$lock" ]; then
  (cd "$pglite" && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci in $pglite failed." >&2; exit 1; }
  echo "$lock" >"$pglite/node_modules/.sov-lock"
fi

# :: Step 2: build everything once.
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
dotnet build Sovereign.slnx -c Release -nologo -v quiet

# :: Step 3: run each test project; keep going after a failure so the summary is complete.
results=.test-results
rm -rf "$results"; mkdir -p "$results"
status=0
for proj in tests/*/*.csproj; do
  grep -q '<IsTestProject>true</IsTestProject>' "$proj" || continue   # test support libraries and helper programs
  name=$(basename "$proj" .csproj)
  echo "== $name"
  if ! dotnet test "$proj" -c Release --no-build -nologo \
        --logger "trx;LogFileName=$name.trx" --results-directory "$results" \
        --blame-hang-timeout 10m "$@"; then
    status=1
  fi
done

# :: Step 4: one summary line over all projects, read from the TRX files.
passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  # xunit's skipped tests are not in the counters' notExecuted; they are results with outcome NotExecuted.
  n=$({ grep -o 'outcome="NotExecuted"' "$trx" || true; } | wc -l)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${n:-0}))
done
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$passed" -eq 0 ]; then echo "No test ran." >&2; exit 1; fi
exit $status
