/**
 * The calls AWS services make for Replicator, read from the synthesized templates: CloudWatch publishing alarm
 * notifications to the topic (and using the topic's key), S3 sending event notifications to the events queue,
 * EventBridge invoking the scheduled reconciler, Lambda assuming each function's role, its event source
 * mappings reading streams and queues with the function's role, its on-failure destinations, and EventBridge's
 * dead-letter queue for schedules it could not deliver. None of
 * these is made by Replicator's code, so no end-to-end run records them; each is as AWS documents it.
 */
import type { Call } from './evaluate';
import { type DeployedTemplate, type IamModel, STREAM_LABEL } from './template-model';

/** Actions an event source mapping calls with the function's role, by source kind (Lambda's documentation). */
const MAPPING_ACTIONS = {
  stream: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
  queue: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
} as const;

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/** The logical id a `{ Ref }` or `{ Fn::GetAtt }` points at. */
function target(v: unknown): string | undefined {
  const o = v as { Ref?: string; 'Fn::GetAtt'?: [string, string] } | undefined;
  return o?.Ref ?? o?.['Fn::GetAtt']?.[0];
}

/** Every call AWS services make for the deployment of `stacks`. */
export function serviceCalls(stacks: readonly DeployedTemplate[], model: IamModel): Call[] {
  const calls: Call[] = [];
  for (const stack of stacks) {
    const resources = stack.template.Resources as Resources;
    const arn = (id: string | undefined) => {
      const a = id !== undefined ? model.arns.get(`${stack.stackName}/${id}`) : undefined;
      if (a === undefined) throw new Error(`${stack.stackName}: no ARN for ${id}`);
      return a;
    };
    const own = { resourceAccount: stack.account };
    for (const [id, r] of Object.entries(resources)) {
      const p = r.Properties ?? {};
      switch (r.Type) {
        case 'AWS::CloudWatch::Alarm': {
          const actions = [...((p.AlarmActions ?? []) as unknown[]), ...((p.OKActions ?? []) as unknown[])];
          const context = { 'aws:SourceAccount': stack.account, 'aws:SourceArn': arn(id) };
          for (const topicId of new Set(actions.map(target))) {
            if (topicId === undefined || resources[topicId]?.Type !== 'AWS::SNS::Topic') continue;
            const topicArn = arn(topicId);
            const why = `CloudWatch notifies ${topicArn} for alarm ${p.AlarmName as string}`;
            calls.push({
              principal: 'cloudwatch.amazonaws.com',
              action: 'sns:Publish',
              resource: topicArn,
              context,
              why,
              ...own,
            });
            const keyId = target(resources[topicId]?.Properties?.KmsMasterKeyId);
            if (keyId !== undefined) {
              for (const action of ['kms:GenerateDataKey', 'kms:Decrypt']) {
                calls.push({
                  principal: 'cloudwatch.amazonaws.com',
                  action,
                  resource: arn(keyId),
                  context,
                  why,
                  ...own,
                });
              }
            }
          }
          break;
        }
        case 'Custom::S3BucketNotifications': {
          const bucket = typeof p.BucketName === 'string' ? p.BucketName : bucketName(resources, target(p.BucketName));
          const config = p.NotificationConfiguration as { QueueConfigurations?: { QueueArn: unknown }[] };
          for (const q of config.QueueConfigurations ?? []) {
            calls.push({
              principal: 's3.amazonaws.com',
              action: 'sqs:SendMessage',
              resource: arn(target(q.QueueArn)),
              context: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': `arn:aws:s3:::${bucket}` },
              why: `S3 sends an event notification of bucket ${bucket}`,
              ...own,
            });
          }
          break;
        }
        case 'AWS::Lambda::Function': {
          const role = model.functionRoles.get(p.FunctionName as string) ?? arn(target(p.Role));
          calls.push({
            principal: 'lambda.amazonaws.com',
            action: 'sts:AssumeRole',
            resource: role,
            why: `Lambda runs function ${p.FunctionName as string} as its role`,
            ...own,
          });
          break;
        }
        case 'AWS::Lambda::EventSourceMapping': {
          const fn = resources[target(p.FunctionName)!]!.Properties!;
          const role = arn(target(fn.Role));
          const sourceId = target(p.EventSourceArn);
          const source = sourceId !== undefined ? resources[sourceId] : undefined;
          const stream = source?.Type === 'AWS::DynamoDB::Table' || /\/stream\//.test(String(p.EventSourceArn));
          const sourceArn = stream
            ? typeof p.EventSourceArn === 'string'
              ? p.EventSourceArn
              : `${arn(sourceId)}/stream/${STREAM_LABEL}`
            : arn(sourceId);
          for (const action of stream ? MAPPING_ACTIONS.stream : MAPPING_ACTIONS.queue) {
            calls.push({
              principal: role,
              action,
              resource: sourceArn,
              why: `the event source mapping of ${fn.FunctionName as string} reads ${sourceArn}`,
              ...own,
            });
          }
          const onFailure = (p.DestinationConfig as { OnFailure?: { Destination: unknown } } | undefined)?.OnFailure;
          if (onFailure !== undefined) calls.push(destinationCall(role, onFailure.Destination, fn, 'mapping'));
          break;
        }
        case 'AWS::Lambda::EventInvokeConfig': {
          // As for a mapping: the function is one of the template's (CDK refers to it).
          const fn = resources[target(p.FunctionName)!]!.Properties!;
          const onFailure = (p.DestinationConfig as { OnFailure?: { Destination: unknown } } | undefined)?.OnFailure;
          if (onFailure !== undefined)
            calls.push(destinationCall(arn(target(fn.Role)), onFailure.Destination, fn, 'async'));
          break;
        }
        case 'AWS::Events::Rule': {
          for (const t of (p.Targets ?? []) as { Arn: unknown; DeadLetterConfig?: { Arn: unknown } }[]) {
            if (t.DeadLetterConfig !== undefined) {
              calls.push({
                principal: 'events.amazonaws.com',
                action: 'sqs:SendMessage',
                resource: arn(target(t.DeadLetterConfig.Arn)),
                context: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': arn(id) },
                why: `EventBridge rule ${id} sends an event it could not deliver to its dead-letter queue`,
                ...own,
              });
            }
            const fnId = target(t.Arn);
            if (fnId === undefined || resources[fnId]?.Type !== 'AWS::Lambda::Function') continue;
            calls.push({
              principal: 'events.amazonaws.com',
              action: 'lambda:InvokeFunction',
              resource: arn(fnId),
              context: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': arn(id) },
              why: `EventBridge rule ${id} invokes ${resources[fnId]!.Properties!.FunctionName as string}`,
              ...own,
            });
          }
          break;
        }
        default:
      }
    }

    function destinationCall(role: string, destination: unknown, fn: Record<string, unknown>, kind: string): Call {
      const destArn = typeof destination === 'string' ? destination : arn(target(destination));
      const action = destArn.startsWith('arn:aws:sqs:') ? 'sqs:SendMessage' : 'sns:Publish';
      return {
        principal: role,
        action,
        resource: destArn,
        why: `Lambda sends a failed ${kind} invocation of ${fn.FunctionName as string} to its on-failure destination`,
        ...own,
      };
    }
  }
  return calls;
}

function bucketName(resources: Resources, id: string | undefined): string {
  const name = id !== undefined ? resources[id]?.Properties?.BucketName : undefined;
  if (typeof name !== 'string') throw new Error(`bucket ${id} has no name`);
  return name;
}
