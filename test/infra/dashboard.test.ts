import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import type { ReplicationConfigInput } from '../../lib/config';
import { ReplicationStack } from '../../lib/replication-stack';
import { arnText, MIXED_CONFIG, ORDERS_CONFIG, TWO_PAIRS_CONFIG, testApp } from './helpers';

/** The dashboard's name and body, its tokens as in {@link arnText} (`<LogicalId.Arn>`), and the template. */
function dashboardOf(config: ReplicationConfigInput): { name: unknown; body: string; template: Template } {
  const template = Template.fromStack(new ReplicationStack(testApp(), 'Replicator-us-east-1', { config }));
  template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  const props = Object.values(template.findResources('AWS::CloudWatch::Dashboard'))[0]!.Properties;
  return { name: props.DashboardName, body: arnText(props.DashboardBody), template };
}

describe('ReplicatorDashboard', () => {
  it('creates the replicator dashboard', () => {
    expect(dashboardOf(ORDERS_CONFIG).name).toBe('replicator');
  });

  it.each([
    ['the example config', ORDERS_CONFIG, ['orders']],
    ['two DynamoDB pairs', TWO_PAIRS_CONFIG, ['orders', 'users']],
    ['a DynamoDB pair and an S3 pair', MIXED_CONFIG, ['orders', 'datasets']],
  ])('gives each pair of %s a header, its metrics and its alarms', (_name, config, pairs) => {
    const { body, template } = dashboardOf(config);
    for (const pair of pairs) {
      expect(body).toContain(`## Pair ${pair}`);
      for (const metric of ['ReplicatedItems', 'ReplicationLatency', 'ApplyErrors', 'StaleSkipped']) {
        expect(body).toContain(`"Replicator","${metric}","Pair","${pair}","Target"`);
      }
      expect(body).toContain(`${pair}: queue depth`);
      expect(body).toContain(`${pair}: alarms`);
      const alarms = template.findResources('AWS::CloudWatch::Alarm', {
        Properties: { AlarmName: Match.stringLikeRegexp(`^replicator-${pair}-`) },
      });
      expect(Object.keys(alarms).length).toBeGreaterThanOrEqual(7);
      // By name, not by GetAtt of the alarm: the dashboard must not depend on the alarm resources
      // (moto, for one, does not create them, and a GetAtt of a skipped resource fails the deploy).
      for (const [id, alarm] of Object.entries(alarms)) {
        expect(body).toContain(`:alarm:${alarm.Properties.AlarmName}"`);
        expect(body).not.toContain(`<${id}.Arn>`);
      }
    }
  });

  it('graphs p50 and p99 latency of every target', () => {
    const { body } = dashboardOf(ORDERS_CONFIG);
    for (const target of ['eu-west-1/orders', 'ap-northeast-1/orders-replica']) {
      expect(body).toContain(`"label":"${target} p50","stat":"p50"`);
      expect(body).toContain(`"label":"${target} p99","stat":"p99"`);
    }
  });

  it('graphs the depth of the pair queue and its DLQ', () => {
    const { body } = dashboardOf(ORDERS_CONFIG);
    expect(body.match(/"AWS\/SQS","ApproximateNumberOfMessagesVisible"/g)?.length).toBe(2);
    expect(body).toContain('"label":"DLQ"');
  });

  it("graphs each target's reconcile consistency ratio and mismatched/repaired counts by the hour", () => {
    const { body } = dashboardOf(ORDERS_CONFIG);
    for (const target of ['eu-west-1/orders', 'ap-northeast-1/orders-replica']) {
      expect(body).toContain(
        `"Replicator","ConsistencyRatio","Pair","orders","Target","${target}",{"label":"${target}","period":3600,"stat":"Minimum"}`,
      );
      expect(body).toContain(`"label":"${target} mismatched","period":3600,"stat":"Sum"`);
      expect(body).toContain(`"label":"${target} repaired","period":3600,"stat":"Sum"`);
    }
    expect(body).toContain('"yAxis":{"left":{"min":0,"max":1}}');
  });
});
