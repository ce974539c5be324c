#!/usr/bin/env node
// The `replicator` CLI, run from the TypeScript sources through tsx (a dependency).
require('tsx/cjs');
require('../src/cli/main.ts').main();
