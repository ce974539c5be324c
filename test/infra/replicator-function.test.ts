import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import { ReplicatorFunction } from '../../lib/constructs/replicator-function';
import { DYNAMODB_HANDLERS } from '../../lib/pair-types/dynamodb';
import { functionProps, statementsOf, testStack } from './helpers';

function fnTemplate(props: Partial<ConstructorParameters<typeof ReplicatorFunction>[2]> = {}): Template {
  const stack = testStack();
  new ReplicatorFunction(stack, 'Fn', {
    functionName: 'replicator-test-capture',
    entry: DYNAMODB_HANDLERS.capture,
    serviceName: 'replicator-capture',
    environment: { PAIR_NAME: 'test' },
    ...props,
  });
  return Template.fromStack(stack);
}

describe('ReplicatorFunction', () => {
  it('runs on nodejs22.x or newer', () => {
    const runtime = functionProps(fnTemplate(), 'replicator-test-capture').Runtime as string;
    const major = Number(/^nodejs(\d+)\.x$/.exec(runtime)?.[1]);
    expect(major).toBeGreaterThanOrEqual(22);
  });

  it('calls the exported handler of the bundle', () => {
    expect(functionProps(fnTemplate(), 'replicator-test-capture').Handler).toBe('index.handler');
  });

  it('defaults memorySize to 512 MB and timeout to 60 seconds', () => {
    const props = functionProps(fnTemplate(), 'replicator-test-capture');
    expect(props.MemorySize).toBe(512);
    expect(props.Timeout).toBe(60);
  });

  it('takes another memorySize and timeout', () => {
    const props = functionProps(
      fnTemplate({ memorySize: 1024, timeout: Duration.seconds(30) }),
      'replicator-test-capture',
    );
    expect(props.MemorySize).toBe(1024);
    expect(props.Timeout).toBe(30);
  });

  it('logs to its own log group, kept one month by default (logRetention)', () => {
    const template = fnTemplate();
    template.hasResourceProperties('AWS::Logs::LogGroup', {
      LogGroupName: '/aws/lambda/replicator-test-capture',
      RetentionInDays: 30,
    });
    const group = Object.keys(template.findResources('AWS::Logs::LogGroup'))[0]!;
    expect(functionProps(template, 'replicator-test-capture').LoggingConfig).toEqual({ LogGroup: { Ref: group } });
  });

  it('takes another logRetention', () => {
    fnTemplate({ logRetention: RetentionDays.ONE_WEEK }).hasResourceProperties('AWS::Logs::LogGroup', {
      RetentionInDays: 7,
    });
  });

  it('adds the Powertools and source-map variables to its environment', () => {
    const env = (functionProps(fnTemplate(), 'replicator-test-capture').Environment as { Variables: object }).Variables;
    expect(env).toEqual({
      PAIR_NAME: 'test',
      POWERTOOLS_SERVICE_NAME: 'replicator-capture',
      POWERTOOLS_METRICS_NAMESPACE: 'Replicator',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('has no managed policy and may write only to its own log group', () => {
    const template = fnTemplate();
    template.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [{ Principal: { Service: 'lambda.amazonaws.com' } }] },
    });
    const role = Object.values(template.findResources('AWS::IAM::Role'))[0]!;
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const group = Object.keys(template.findResources('AWS::Logs::LogGroup'))[0]!;
    const statements = statementsOf(template, 'replicator-test-capture');
    expect(statements).toEqual([
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: [{ 'Fn::GetAtt': [group, 'Arn'] }],
      },
    ]);
  });
});
