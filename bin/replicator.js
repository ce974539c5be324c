#!/usr/bin/env node
// The `replicator` CLI, run from the TypeScript sources through tsx (a dependency).
// The AWS SDK warns on Node 20 (9 lines, every command) that its releases after early January 2027 need
// Node 22: that concerns which SDK versions the lockfile may take, not this run. The README says which Node
// versions are supported.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs');
require('../src/cli/main.ts').main();
