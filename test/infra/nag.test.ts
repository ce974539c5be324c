import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import type { ReplicationConfigInput } from '../../lib/config';
import { build, ORDERS_CONFIG, TWO_PAIRS_CONFIG } from './helpers';

const configs: [string, ReplicationConfigInput][] = [
  ['the example config', ORDERS_CONFIG],
  ['an imported source, a filter and a cross-account target', TWO_PAIRS_CONFIG],
];

/** Every acknowledged rule in the tree as `<path>: <rule id>`. */
function acknowledgements(root: IConstruct): string[] {
  return root.node
    .findAll()
    .flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) =>
          Object.keys(m.data as object).map((id) => `${c.node.path}: ${id.replace(/^annotation::/i, '')}`),
        ),
    )
    .sort();
}

describe('cdk-nag AwsSolutions', () => {
  it.each(configs)('finds no unacknowledged error or warning in %s', async (_name, config) => {
    const built = await build(config);
    const app = built.source.node.root;
    const report = new AwsSolutionsChecks(app, { verbose: true }).validateScope(app);
    const findings = report.violations.map(
      (v) => `${v.severity} ${v.ruleName} at ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
  });

  it('acknowledges only the stream ListStreams wildcard and the failure queue without a DLQ, per pair', async () => {
    const built = await build(ORDERS_CONFIG);
    expect(acknowledgements(built.source)).toEqual([
      'Replicator-us-east-1/OrdersPair/Capture/Role: AwsSolutions-IAM5[Resource::*]',
      'Replicator-us-east-1/OrdersPair/Queues/CaptureFailureQueue: AwsSolutions-SQS3',
    ]);
    for (const target of built.targets.values()) expect(acknowledgements(target)).toEqual([]);
  });

  it('synthesizes with the checks registered as buildApp does', async () => {
    const built = await build(TWO_PAIRS_CONFIG, { nag: true });
    expect(() => (built.source.node.root as App).synth()).not.toThrow();
  });
});
