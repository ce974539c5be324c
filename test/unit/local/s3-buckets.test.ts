import { describe, expect, it } from 'vitest';
import { describeNotificationConfiguration, mergeNotificationConfiguration } from '../../../src/local/s3-buckets';

const QUEUE = 'arn:aws:sqs:us-east-1:123456789012:replicator-datasets-events';
const ours = {
  QueueConfigurations: [
    {
      Events: ['s3:ObjectCreated:*'],
      QueueArn: QUEUE,
      Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'datasets/' }] } },
    },
  ],
};
const theirs = {
  TopicConfigurations: [{ Id: 'external', Events: ['s3:ObjectRemoved:*'], TopicArn: 'arn:aws:sns:us-east-1:1:t' }],
};

describe('mergeNotificationConfiguration', () => {
  it("replaces a managed bucket's configuration with the stack's", () => {
    expect(mergeNotificationConfiguration(theirs, ours, true)).toEqual(ours);
  });

  it("keeps an imported bucket's own configurations and adds the stack's", () => {
    expect(mergeNotificationConfiguration(theirs, ours, false)).toEqual({ ...theirs, ...ours });
  });

  it('adds nothing twice, whatever Id, rule-name case or event order the bucket returns', () => {
    const existing = {
      QueueConfigurations: [
        {
          Id: 'generated-by-s3',
          Events: ['s3:ObjectCreated:*'],
          QueueArn: QUEUE,
          Filter: { Key: { FilterRules: [{ Name: 'Prefix', Value: 'datasets/' }] } },
        },
      ],
    };
    expect(mergeNotificationConfiguration(existing, ours, false)).toEqual(existing);
  });
});

describe('describeNotificationConfiguration', () => {
  it('names the events, filters and destinations on one line', () => {
    expect(describeNotificationConfiguration({ ...ours, ...theirs })).toBe(
      `s3:ObjectCreated:* [prefix=datasets/] → ${QUEUE}; s3:ObjectRemoved:* → arn:aws:sns:us-east-1:1:t`,
    );
    expect(describeNotificationConfiguration({})).toBe('no destinations');
  });
});
