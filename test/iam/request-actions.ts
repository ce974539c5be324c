/**
 * What IAM authorizes for one HTTP request to AWS: the actions, the resource ARN of each, and the condition keys
 * that matter (s3:prefix, sts:ExternalId). Read from the request as the local cloud's proxy sees it: the SigV4
 * credential scope (service, region, access key), X-Amz-Target and the JSON body (DynamoDB, SQS), the form body
 * (STS and other query protocols), or the method, path and query (S3's REST API).
 */
import { credentialScope } from '../../src/local/counting-proxy';

/** One request as recorded. */
export interface ObservedRequest {
  readonly method: string;
  /** Path and query. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The body of a JSON or form request (other bodies are not kept). */
  readonly body?: string;
}

/** One authorization a request needs. */
export interface Authorization {
  readonly action: string;
  readonly resource: string;
  readonly context?: Readonly<Record<string, string | string[]>>;
}

/** `http(s)://host/<account>/<name>` (an SQS queue URL, AWS's or moto's) as a queue ARN in `region`. */
export function queueArn(url: string, region: string): string {
  const m = /\/(\d{12})\/([^/?]+)$/.exec(url);
  if (!m) throw new Error(`not a queue URL: ${url}`);
  return `arn:aws:sqs:${region}:${m[1]}:${m[2]}`;
}

/** DynamoDB actions whose body names one table (`TableName`). */
const DYNAMODB_TABLE_ACTIONS = new Set([
  'PutItem',
  'GetItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'DescribeTable',
  'DescribeTimeToLive',
  'DescribeContinuousBackups',
  'ListTagsOfResource',
]);

/** What a request needs authorized; throws for a request it cannot read, so nothing passes unread. */
export function authorizationsOf(r: ObservedRequest, account: string): Authorization[] {
  const scope = credentialScope(r.headers.authorization);
  if (!scope) throw new Error(`unsigned request ${r.method} ${r.url}`);
  const { region, service } = scope;
  const target = r.headers['x-amz-target'];
  if (target !== undefined) {
    const action = target.split('.')[1]!;
    const body = JSON.parse(r.body ?? '{}') as Record<string, unknown>;
    if (service === 'dynamodb') return dynamodb(action, body, region, account);
    if (service === 'sqs') {
      if (action === 'GetQueueUrl') {
        const name = body.QueueName as string;
        const owner = (body.QueueOwnerAWSAccountId as string | undefined) ?? account;
        return [{ action: 'sqs:GetQueueUrl', resource: `arn:aws:sqs:${region}:${owner}:${name}` }];
      }
      const iamAction = { SendMessageBatch: 'SendMessage', DeleteMessageBatch: 'DeleteMessage' }[action] ?? action;
      return [{ action: `sqs:${iamAction}`, resource: queueArn(body.QueueUrl as string, region) }];
    }
    throw new Error(`no IAM reading of ${service} ${target}`);
  }
  if (service === 'sts') {
    const form = new URLSearchParams(r.body ?? new URL(r.url, 'http://x').search);
    const action = form.get('Action');
    if (action === 'AssumeRole') {
      const externalId = form.get('ExternalId');
      return [
        {
          action: 'sts:AssumeRole',
          resource: form.get('RoleArn')!,
          ...(externalId !== null ? { context: { 'sts:ExternalId': externalId } } : {}),
        },
      ];
    }
    if (action === 'GetCallerIdentity') return [];
    throw new Error(`no IAM reading of sts ${action}`);
  }
  if (service === 's3') return s3(r);
  throw new Error(`no IAM reading of ${service} ${r.method} ${r.url}`);
}

function dynamodb(action: string, body: Record<string, unknown>, region: string, account: string): Authorization[] {
  const table = (name: string) => `arn:aws:dynamodb:${region}:${account}:table/${name}`;
  if (DYNAMODB_TABLE_ACTIONS.has(action)) {
    const name = body.TableName as string;
    const index = body.IndexName as string | undefined;
    return [{ action: `dynamodb:${action}`, resource: index ? `${table(name)}/index/${index}` : table(name) }];
  }
  if (action === 'BatchWriteItem' || action === 'BatchGetItem') {
    return Object.keys(body.RequestItems as object).map((name) => ({
      action: `dynamodb:${action}`,
      resource: table(name),
    }));
  }
  if (action === 'TransactWriteItems') {
    const items = body.TransactItems as Record<string, { TableName: string }>[];
    const actions = {
      Put: 'PutItem',
      Update: 'UpdateItem',
      Delete: 'DeleteItem',
      ConditionCheck: 'ConditionCheckItem',
    };
    return items.flatMap((it) =>
      Object.entries(it).map(([kind, op]) => ({
        action: `dynamodb:${actions[kind as keyof typeof actions]}`,
        resource: table(op.TableName),
      })),
    );
  }
  if (action === 'TransactGetItems') {
    const items = body.TransactItems as { Get: { TableName: string } }[];
    return items.map((it) => ({ action: 'dynamodb:GetItem', resource: table(it.Get.TableName) }));
  }
  throw new Error(`no IAM reading of dynamodb ${action}`);
}

/** S3's REST API: the bucket and key from the path (path-style, as the local cloud uses), the action from the rest. */
function s3(r: ObservedRequest): Authorization[] {
  const url = new URL(r.url, 'http://x');
  const [, bucket = '', ...keyParts] = url.pathname.split('/');
  const key = decodeURIComponent(keyParts.join('/'));
  const q = url.searchParams;
  const method = r.method.toUpperCase();
  const bucketArn = `arn:aws:s3:::${bucket}`;
  const objectArn = `${bucketArn}/${key}`;
  const versioned = q.has('versionId');
  if (key === '') {
    if (method === 'GET' && q.has('versions')) return [listing('s3:ListBucketVersions', bucketArn, q)];
    if (
      method === 'GET' &&
      (q.has('list-type') ||
        [...q.keys()].every((k) => ['prefix', 'delimiter', 'max-keys', 'marker', 'encoding-type'].includes(k)))
    ) {
      return [listing('s3:ListBucket', bucketArn, q)];
    }
    if (method === 'GET' && q.has('location')) return [{ action: 's3:GetBucketLocation', resource: bucketArn }];
    if (method === 'HEAD') return [{ action: 's3:ListBucket', resource: bucketArn }];
    throw new Error(`no IAM reading of s3 ${method} ${r.url}`);
  }
  if (q.has('tagging')) {
    const verb = method === 'GET' ? 'Get' : method === 'PUT' ? 'Put' : 'Delete';
    return [{ action: `s3:${verb}Object${versioned ? 'Version' : ''}Tagging`, resource: objectArn }];
  }
  if (q.has('attributes'))
    return [{ action: versioned ? 's3:GetObjectVersionAttributes' : 's3:GetObjectAttributes', resource: objectArn }];
  if (method === 'GET' || method === 'HEAD') {
    // A read of a key that may not be there: S3 answers 404 only to a caller it lets list the bucket (else 403),
    // and that check carries no s3:prefix. Replicator relies on the 404 (a new object's target, a source object
    // deleted before its copy).
    return [
      { action: versioned ? 's3:GetObjectVersion' : 's3:GetObject', resource: objectArn },
      { action: 's3:ListBucket', resource: bucketArn },
    ];
  }
  if (method === 'DELETE') {
    if (q.has('uploadId')) return [{ action: 's3:AbortMultipartUpload', resource: objectArn }];
    return [{ action: versioned ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: objectArn }];
  }
  if (method === 'GET' && q.has('uploadId')) return [{ action: 's3:ListMultipartUploadParts', resource: objectArn }];
  if (method === 'POST' || method === 'PUT') {
    // CreateMultipartUpload, UploadPart, CompleteMultipartUpload, PutObject and CopyObject all write the object.
    const out: Authorization[] = [{ action: 's3:PutObject', resource: objectArn }];
    const source = r.headers['x-amz-copy-source'];
    if (source !== undefined) {
      const [path = '', query = ''] = decodeURIComponent(source).replace(/^\//, '').split('?');
      const sourceVersioned = new URLSearchParams(query).has('versionId');
      out.push({ action: sourceVersioned ? 's3:GetObjectVersion' : 's3:GetObject', resource: `arn:aws:s3:::${path}` });
      // CopyObject with TaggingDirective COPY (the default) reads the source's tags and writes them.
      const copiesTags =
        (r.headers['x-amz-tagging-directive'] ?? 'COPY').toUpperCase() === 'COPY' && !q.has('partNumber');
      if (copiesTags) {
        out.push({
          action: sourceVersioned ? 's3:GetObjectVersionTagging' : 's3:GetObjectTagging',
          resource: `arn:aws:s3:::${path}`,
        });
        out.push({ action: 's3:PutObjectTagging', resource: objectArn });
      }
    }
    if (r.headers['x-amz-tagging'] !== undefined) out.push({ action: 's3:PutObjectTagging', resource: objectArn });
    return out;
  }
  throw new Error(`no IAM reading of s3 ${method} ${r.url}`);
}

function listing(action: string, bucketArn: string, q: URLSearchParams): Authorization {
  return { action, resource: bucketArn, context: { 's3:prefix': q.get('prefix') ?? '' } };
}
