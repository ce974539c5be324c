/**
 * Replicator as a construct library: the stacks and constructs a team's own CDK app builds from a typed
 * config, validated as `cdk synth` of this repository validates it (errors name the field and the value).
 *
 * ```ts
 * import { App } from 'aws-cdk-lib';
 * import { ReplicationStack, TargetStack } from 'replicator';
 *
 * const app = new App();
 * const config = { sourceRegion: 'us-east-1', pairs: [ ... ] } satisfies ReplicationConfigInput;
 * new TargetStack(app, 'ReplicatorTargets', { config, region: 'eu-west-1' });
 * new ReplicationStack(app, 'Replicator', { config });
 * ```
 * `buildApp(app, config)` builds every stack a config needs at once (source, target regions, target
 * accounts), with the deploy preflight and cdk-nag, as this repository's `bin/app.ts` does.
 */
export * from '../functions/contract';
export * from './app-builder';
export * from './config';
export * from './constructs';
export * from './constructs/target-access-role';
export * from './pair-types/registry';
export * from './replication-stack';
export * from './target-accounts';
export * from './target-stack';
