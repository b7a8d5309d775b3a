#!/usr/bin/env bash
# Run the CLI from source (no build step): scripts/glm5-dev.sh <command> [args]
exec node --import tsx "$(dirname "$0")/../src/cli/run.ts" "$@"
