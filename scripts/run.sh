#!/usr/bin/env bash
# Runs Sovereign on http://127.0.0.1:8080 with its data in ./data (SQLite embedded). Extra arguments go to `sov serve`.
set -euo pipefail
cd "$(dirname "$0")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
dotnet build src/Sovereign.Cli -c Release -nologo -v quiet
exec src/Sovereign.Cli/bin/Release/net10.0/sov serve "$@"
