/**
 * A target bucket that Replicator creates in a target region (an S3 target with `create` in the config).
 */
import { RemovalPolicy, Tags } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { AccessLogsBucket } from './access-logs-bucket';
import { PAIR_TAG } from './pair-common';

/** Props of a {@link TargetBucket}. */
export interface TargetBucketProps {
  /** Name of the pair the bucket belongs to (tagged `replicator:pair`). */
  readonly pairName: string;
  /** Physical bucket name. */
  readonly bucketName: string;
  /** Where the bucket's server access logs go (under `<bucketName>/`); in the same region. */
  readonly accessLogs: AccessLogsBucket;
  /**
   * Keep every version of every object (deletes then leave delete markers).
   * @default - false; the target stack passes true when the source is created versioned
   */
  readonly versioned?: boolean;
  /**
   * What happens to the bucket when it is removed from the stack.
   * @default - RemovalPolicy.RETAIN: a target holds a copy of user data that may be the only one left after a source-region loss
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** A private, SSE-S3 encrypted, TLS-only bucket with server access logs. */
export class TargetBucket extends Construct {
  /** The bucket. */
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: TargetBucketProps) {
    super(scope, id);
    this.bucket = new s3.Bucket(this, 'Bucket', replicatedBucketProps(props.bucketName, props));
    props.accessLogs.logsOf(this.bucket, `${props.bucketName}/`);
    Tags.of(this).add(PAIR_TAG, props.pairName);
  }
}

/**
 * Props of every bucket Replicator creates (sources and targets): block all public access, SSE-S3, object
 * ownership enforced (no ACLs), a TLS-only bucket policy, retained by default.
 */
export function replicatedBucketProps(
  bucketName: string,
  options: { readonly versioned?: boolean; readonly removalPolicy?: RemovalPolicy },
): s3.BucketProps {
  return {
    bucketName,
    versioned: options.versioned ?? false,
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    enforceSSL: true,
    removalPolicy: options.removalPolicy ?? RemovalPolicy.RETAIN,
  };
}
