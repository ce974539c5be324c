/**
 * List prices the cost benchmark (`npm run bench -- cost`, bench/cost.ts) multiplies the measured request counts
 * by: on-demand, US East (N. Virginia) us-east-1 as the source region and Europe (Ireland) eu-west-1 as the
 * target, in USD, without free tiers, volume tiers, Savings Plans or taxes.
 *
 * Each entry says where its figure was read (`source`), the AWS pricing page it comes from (`pricingPage`), when
 * it was checked and whether it could be verified. The AWS pricing pages render their regional tables in the
 * browser and this machine has no network, so figures were verified against AWS documentation and stored copies
 * of the pricing pages where those carry them, else against dated third-party pages quoting the AWS page; an
 * entry with `verified: false` is the best-known figure and says why in its `note`.
 */

/** One list price. */
export interface Price {
  /** The price in US dollars per `unit`. */
  readonly usd: number;
  /** What the price is for, e.g. "per million write request units". */
  readonly unit: string;
  /** Where the figure was read. */
  readonly source: string;
  /** The AWS pricing page the figure comes from. */
  readonly pricingPage: string;
  /** When the figure was checked (ISO date). */
  readonly checked: string;
  /** Whether the figure was found in a source; false: the best-known figure, see `note`. */
  readonly verified: boolean;
  /** What the figure rests on, when more than `source` says. */
  readonly note?: string;
}

const CHECKED = '2026-12-02';

const DYNAMODB_ON_DEMAND = 'https://aws.amazon.com/dynamodb/pricing/on-demand/';
const S3_PRICING = 'https://aws.amazon.com/s3/pricing/';

/** The prices, one entry each. */
export const PRICES = {
  dynamodbWriteUsEast1: {
    usd: 0.625,
    unit: 'per million write request units (us-east-1, on-demand, Standard table class)',
    source: 'https://airbyte.com/data-engineering-resources/dynamodb-pricing',
    pricingPage: DYNAMODB_ON_DEMAND,
    checked: CHECKED,
    verified: true,
    note: 'After the 50% cut of on-demand throughput prices of November 2024 ($1.25 before).',
  },
  dynamodbReadUsEast1: {
    usd: 0.125,
    unit: 'per million read request units (us-east-1, on-demand; 1 RRU = one strongly consistent read of up to 4 KB)',
    source: 'https://airbyte.com/data-engineering-resources/dynamodb-pricing',
    pricingPage: DYNAMODB_ON_DEMAND,
    checked: CHECKED,
    verified: true,
    note: 'After the November 2024 cut ($0.25 before).',
  },
  dynamodbWriteEuWest1: {
    usd: 0.7068,
    unit: 'per million write request units (eu-west-1, on-demand, Standard table class)',
    source: 'not found in a searchable source: half of the pre-November-2024 eu-west-1 figure, $1.4135',
    pricingPage: DYNAMODB_ON_DEMAND,
    checked: CHECKED,
    verified: false,
    note: 'Unverified: the regional table of the AWS page is not in any source searchable from here. Derived from the 50% on-demand cut of November 2024, which is verified for us-east-1 ($1.25 → $0.625); eu-west-1 was $1.4135 before it (best-known figure, also unverified).',
  },
  dynamodbReplicatedWriteEuWest1: {
    usd: 0.7068,
    unit: 'per million replicated write request units (Global Tables, eu-west-1, on-demand)',
    source:
      'DynamoDB Developer Guide, "Choosing your disaster recovery strategy for Amazon DynamoDB workloads", https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/DynamodbDisasterRecoveryStrategy.html (us-east-1: $0.625 per million rWRU, on-demand)',
    pricingPage: DYNAMODB_ON_DEMAND,
    checked: CHECKED,
    verified: false,
    note: 'Verified for us-east-1 only: the DynamoDB Developer Guide gives $0.625 per million replicated write request units (N. Virginia, on-demand), the price of a single-Region WRU there since the November 2024 cut of up to 67% ($1.875 before). eu-west-1 is taken as its own WRU price, like us-east-1: unverified, as that price is.',
  },
  dynamodbStreamsReadByLambda: {
    usd: 0,
    unit: 'per GetRecords call made by a Lambda event source mapping (DynamoDB Streams)',
    source: 'https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CostOptimization_StreamsUsage.html',
    pricingPage: DYNAMODB_ON_DEMAND,
    checked: CHECKED,
    verified: true,
    note: '"Read requests made by AWS Lambda-based consumers of DynamoDB Streams are free"; DescribeStream and the other Streams APIs are never charged.',
  },
  sqsStandardRequest: {
    usd: 0.4,
    unit: 'per million requests (standard queue; every 64 KB chunk of a request or response payload is one request)',
    source: 'https://cloudburn.io/blog/amazon-sqs-pricing',
    pricingPage: 'https://aws.amazon.com/sqs/pricing/',
    checked: CHECKED,
    verified: true,
    note: 'First 100 billion requests a month, us-east-1; the 64 KB chunk rule also in https://www.factualminds.com/blog/amazon-sqs-pricing-64kb-rule-fifo-vs-standard/ (2026-06).',
  },
  lambdaRequest: {
    usd: 0.2,
    unit: 'per million invocations (us-east-1, x86_64 and arm64)',
    source: 'https://cloudchipr.com/blog/aws-lambda-pricing',
    pricingPage: 'https://aws.amazon.com/lambda/pricing/',
    checked: CHECKED,
    verified: true,
  },
  lambdaX86GbSecond: {
    usd: 0.0000166667,
    unit: 'per GB-second (us-east-1, x86_64, first 6 billion GB-s a month)',
    source: 'https://cloudchipr.com/blog/aws-lambda-pricing',
    pricingPage: 'https://aws.amazon.com/lambda/pricing/',
    checked: CHECKED,
    verified: true,
    note: 'The architecture Replicator deploys: lib/constructs/replicator-function.ts sets none, so Lambda runs x86_64.',
  },
  lambdaArmGbSecond: {
    usd: 0.0000133334,
    unit: 'per GB-second (us-east-1, arm64, first 7.5 billion GB-s a month)',
    source: 'https://cloudchipr.com/blog/aws-lambda-pricing',
    pricingPage: 'https://aws.amazon.com/lambda/pricing/',
    checked: CHECKED,
    verified: true,
    note: 'For comparison only: Replicator does not deploy arm64 functions.',
  },
  interRegionTransfer: {
    usd: 0.02,
    unit: 'per GB sent from us-east-1 to eu-west-1, or back (inter-region data transfer out, charged by the sending Region)',
    source: 'https://redresscompliance.com/aws-inter-region-transfer-costs-multiregion',
    pricingPage: 'https://aws.amazon.com/ec2/pricing/on-demand/#Data_Transfer',
    checked: CHECKED,
    verified: true,
    note: 'The destination Region charges nothing for data in. S3 COPY requests between Regions are charged this rate too (S3 FAQ); Global Tables replication too ("Cross-Region replication ... incur[s] charges for data transfer out", DynamoDB pricing page).',
  },
  s3PutUsEast1: {
    usd: 0.005,
    unit: 'per 1,000 PUT, COPY, POST or LIST requests (S3 Standard, us-east-1)',
    source:
      'stored copy of https://aws.amazon.com/s3/pricing/ (its us-east-1 example: "$0.005 per 1,000 requests for all LIST requests"; LIST is "charged at the same rate as S3 Standard PUT, COPY, and POST requests")',
    pricingPage: S3_PRICING,
    checked: CHECKED,
    verified: true,
  },
  s3GetUsEast1: {
    usd: 0.0004,
    unit: 'per 1,000 GET, HEAD and other requests (S3 Standard, us-east-1)',
    source:
      'stored copy of https://aws.amazon.com/s3/pricing/ (its us-east-1 example: "$0.0004 per 1,000 requests for all S3 GET and HEAD requests")',
    pricingPage: S3_PRICING,
    checked: CHECKED,
    verified: true,
  },
  s3PutEuWest1: {
    usd: 0.005,
    unit: 'per 1,000 PUT, COPY, POST or LIST requests (S3 Standard, eu-west-1)',
    source: 'not found in a searchable source: taken as the us-east-1 price',
    pricingPage: S3_PRICING,
    checked: CHECKED,
    verified: false,
    note: 'Unverified: best-known figure (eu-west-1 has long priced S3 Standard requests like us-east-1). A refused conditional copy (412) is counted as billed.',
  },
  s3GetEuWest1: {
    usd: 0.0004,
    unit: 'per 1,000 GET, HEAD and other requests (S3 Standard, eu-west-1)',
    source: 'not found in a searchable source: taken as the us-east-1 price',
    pricingPage: S3_PRICING,
    checked: CHECKED,
    verified: false,
    note: 'Unverified: best-known figure.',
  },
  s3ReplicationPut: {
    usd: 0.005,
    unit: 'per 1,000 objects replicated (one replication PUT per object, at the destination PUT price, eu-west-1)',
    source: 'https://docs.aws.amazon.com/AmazonS3/latest/userguide/rtc-best-practices.html',
    pricingPage: S3_PRICING,
    checked: CHECKED,
    verified: true,
    note: '"You incur costs for only one PUT request per object replicated"; the S3 pricing page: "Storage and PUT request pricing for the replicated copy is based on the selected destination AWS Regions". The eu-west-1 PUT price itself is the unverified s3PutEuWest1.',
  },
  s3ReplicationTimeControl: {
    usd: 0.015,
    unit: 'per GB replicated with S3 Replication Time Control (all Regions), on top of the transfer',
    source:
      'stored copy of https://aws.amazon.com/s3/pricing/ ("S3 Replication Time Control data transfer $0.015 per GB")',
    pricingPage: S3_PRICING,
    checked: CHECKED,
    verified: true,
    note: 'RTC also bills its replication metrics at the CloudWatch custom metric rate (a monthly charge per rule, not per object).',
  },
  s3EventNotification: {
    usd: 0,
    unit: 'per S3 event notification (the SendMessage S3 makes to the events queue is an SQS request)',
    source:
      'not found as a statement in a searchable source; the S3 pricing page lists no charge for event notifications',
    pricingPage: S3_PRICING,
    checked: CHECKED,
    verified: false,
    note: "Best-known: S3 charges nothing for sending notifications; the destination (here the pair's events queue) bills its own requests, which the cost model counts as SQS requests.",
  },
} as const satisfies Record<string, Price>;

/** The name of a price in {@link PRICES}. */
export type PriceName = keyof typeof PRICES;
