#!/usr/bin/env node
/**
 * The CDK app: reads the replication config (`-c config=PATH`, else `replication.config.json` in the working
 * directory), validates it and builds the stacks with {@link buildApp}. A bad config or an unusable imported
 * source table fails synth with a message that names the field or the table.
 */
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildApp, PreflightError } from '../lib/app-builder';
import { ConfigError, loadConfigFile } from '../lib/config';

async function main(): Promise<void> {
  // Synthesized explicitly below, once the async preflight is done.
  const app = new App({ autoSynth: false });
  const configPath = path.resolve(
    (app.node.tryGetContext('config') as string | undefined) ?? 'replication.config.json',
  );
  await buildApp(app, loadConfigFile(configPath));
  app.synth();
}

main().catch((err: unknown) => {
  // Config and preflight errors are for the user: print the message alone, without a stack trace.
  const expected = err instanceof ConfigError || err instanceof PreflightError;
  console.error(expected ? (err as Error).message : err);
  process.exitCode = 1;
});
