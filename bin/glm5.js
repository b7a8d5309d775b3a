#!/usr/bin/env node
// The glm5 command: runs the compiled CLI (npm install builds dist/).
import('../dist/cli/main.js').then((m) => m.main(process.argv.slice(2)));
