/**
 * The IAM side of synthesized CloudFormation templates, as AWS would see it once deployed: every role's trust
 * policy and identity policies, and every resource policy (bucket, queue, topic, key, function), keyed by the
 * ARNs the deployed resources would have. Intrinsics (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select,
 * Fn::Split, pseudo parameters) are resolved from the resources' physical names; a resource without one gets a
 * name made from its logical id, as CloudFormation would generate one. An intrinsic this module does not know
 * fails loudly: a policy it cannot read must not pass as a policy that allows nothing.
 */

/** A policy document as a template holds it, intrinsics resolved. */
export interface PolicyDocument {
  readonly Version?: string;
  readonly Statement: readonly Record<string, unknown>[];
}

/** One role: its trust policy and every identity policy attached to it. */
export interface RoleModel {
  readonly arn: string;
  readonly account: string;
  readonly stack: string;
  readonly logicalId: string;
  readonly trust: PolicyDocument;
  readonly policies: { readonly name: string; readonly policy: PolicyDocument }[];
}

/** Everything the evaluator needs from a set of deployed templates. */
export interface IamModel {
  /** Roles by ARN. */
  readonly roles: Map<string, RoleModel>;
  /** Resource policies by the ARN of the resource they are attached to. */
  readonly resourcePolicies: Map<string, { readonly policy: PolicyDocument; readonly account: string }>;
  /** Functions by name: the ARN of the role they run as. */
  readonly functionRoles: Map<string, string>;
  /** Every resource's resolved ARN by stack and logical id (`<stack>/<logicalId>`). */
  readonly arns: Map<string, string>;
  /** The account of every bucket the templates create, by name (S3 ARNs carry none). */
  readonly bucketAccounts: Map<string, string>;
}

/** A synthesized template and where it is deployed. */
export interface DeployedTemplate {
  readonly stackName: string;
  readonly account: string;
  readonly region: string;
  readonly template: { readonly Resources: Record<string, CfnResource> };
}

interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}

/** What a Ref and each Fn::GetAtt of a resource resolve to. */
interface Resolved {
  readonly ref: string;
  readonly attrs: Record<string, string>;
}

/** The label of a modelled table's stream ARN (`<table ARN>/stream/<label>`); a real one is its creation time. */
export const STREAM_LABEL = '2026-01-01T00:00:00.000';

/** AWS's managed policy for Lambda logging, which CDK attaches by ARN. */
const MANAGED_POLICIES: Record<string, PolicyDocument> = {
  'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole': {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: '*',
      },
    ],
  },
};

/** Reads the IAM side of deployed templates. */
export function iamModel(stacks: readonly DeployedTemplate[]): IamModel {
  const model: IamModel = {
    roles: new Map(),
    resourcePolicies: new Map(),
    functionRoles: new Map(),
    arns: new Map(),
    bucketAccounts: new Map(),
  };
  for (const stack of stacks) {
    const resolver = new StackResolver(stack);
    for (const [id, r] of Object.entries(stack.template.Resources)) {
      const { attrs } = resolver.resource(id);
      const arn = attrs.Arn ?? attrs.TopicArn;
      if (arn !== undefined) model.arns.set(`${stack.stackName}/${id}`, arn);
      if (r.Type === 'AWS::S3::Bucket') model.bucketAccounts.set(resolver.resource(id).ref, stack.account);
      if (r.Type === 'AWS::IAM::Role') {
        const p = resolver.value(r.Properties ?? {}) as Record<string, unknown>;
        const inline = ((p.Policies ?? []) as { PolicyName: string; PolicyDocument: PolicyDocument }[]).map((x) => ({
          name: x.PolicyName,
          policy: x.PolicyDocument,
        }));
        const managed = ((p.ManagedPolicyArns ?? []) as string[]).map((a) => {
          const policy = MANAGED_POLICIES[a];
          if (!policy) throw new Error(`${stack.stackName}/${id}: managed policy ${a} is not known to the IAM model`);
          return { name: a, policy };
        });
        const roleArn = resolver.resource(id).attrs.Arn!;
        model.roles.set(roleArn, {
          arn: roleArn,
          account: stack.account,
          stack: stack.stackName,
          logicalId: id,
          trust: p.AssumeRolePolicyDocument as PolicyDocument,
          policies: [...inline, ...managed],
        });
      }
    }
    for (const [id, r] of Object.entries(stack.template.Resources)) {
      const p = resolver.value(r.Properties ?? {}) as Record<string, unknown>;
      const attach = (arn: string, policy: PolicyDocument) => {
        const had = model.resourcePolicies.get(arn);
        const statements = [...(had?.policy.Statement ?? []), ...policy.Statement];
        model.resourcePolicies.set(arn, {
          account: stack.account,
          policy: { Version: '2012-10-17', Statement: statements },
        });
      };
      switch (r.Type) {
        case 'AWS::IAM::Policy':
          for (const roleName of (p.Roles ?? []) as string[]) {
            const role = [...model.roles.values()].find(
              (x) => x.stack === stack.stackName && resolver.resource(x.logicalId).ref === roleName,
            );
            if (!role) throw new Error(`${stack.stackName}/${id}: policy attached to unknown role ${roleName}`);
            role.policies.push({ name: p.PolicyName as string, policy: p.PolicyDocument as PolicyDocument });
          }
          break;
        case 'AWS::S3::BucketPolicy':
          attach(`arn:aws:s3:::${p.Bucket as string}`, p.PolicyDocument as PolicyDocument);
          break;
        case 'AWS::SQS::QueuePolicy':
          for (const url of p.Queues as string[]) attach(queueArnOfUrl(url), p.PolicyDocument as PolicyDocument);
          break;
        case 'AWS::SNS::TopicPolicy':
          for (const arn of p.Topics as string[]) attach(arn, p.PolicyDocument as PolicyDocument);
          break;
        case 'AWS::KMS::Key':
          attach(resolver.resource(id).attrs.Arn!, p.KeyPolicy as PolicyDocument);
          break;
        case 'AWS::Lambda::Function':
          model.functionRoles.set(resolver.resource(id).ref, p.Role as string);
          break;
        case 'AWS::Lambda::Permission': {
          const fn = p.FunctionName as string;
          const fnArn = fn.startsWith('arn:') ? fn : `arn:aws:lambda:${stack.region}:${stack.account}:function:${fn}`;
          const condition: Record<string, Record<string, string>> = {};
          if (p.SourceArn !== undefined) condition.ArnLike = { 'aws:SourceArn': p.SourceArn as string };
          if (p.SourceAccount !== undefined)
            condition.StringEquals = { 'aws:SourceAccount': p.SourceAccount as string };
          const principal = p.Principal as string;
          attach(fnArn, {
            Statement: [
              {
                Sid: id,
                Effect: 'Allow',
                Principal: principal.endsWith('.amazonaws.com') ? { Service: principal } : { AWS: principal },
                Action: p.Action as string,
                Resource: fnArn,
                ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
              },
            ],
          });
          break;
        }
        default:
      }
    }
  }
  return model;
}

/** `https://sqs.<region>.amazonaws.com/<account>/<name>` as `arn:aws:sqs:<region>:<account>:<name>`. */
export function queueArnOfUrl(url: string): string {
  const m = /^https:\/\/sqs\.([a-z0-9-]+)\.amazonaws\.com\/(\d{12})\/(.+)$/.exec(url);
  if (!m) throw new Error(`not a queue URL: ${url}`);
  return `arn:aws:sqs:${m[1]}:${m[2]}:${m[3]}`;
}

/** Resolves one stack's intrinsics. */
class StackResolver {
  private readonly cache = new Map<string, Resolved>();

  constructor(private readonly stack: DeployedTemplate) {}

  /** What a resource's Ref and attributes resolve to. */
  resource(id: string): Resolved {
    let r = this.cache.get(id);
    if (!r) {
      r = this.physical(id);
      this.cache.set(id, r);
    }
    return r;
  }

  /** A value with every intrinsic resolved. */
  value(v: unknown): unknown {
    if (Array.isArray(v)) return v.map((x) => this.value(x));
    if (v === null || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o);
    if (keys.length === 1) {
      const [k] = keys as [string];
      const arg = o[k];
      if (k === 'Ref') return this.ref(arg as string);
      if (k === 'Fn::GetAtt') {
        const [id, attr] = (typeof arg === 'string' ? arg.split('.') : arg) as [string, string];
        const value = this.resource(id).attrs[attr];
        if (value === undefined) throw new Error(`${this.stack.stackName}: Fn::GetAtt ${id}.${attr} is not modelled`);
        return value;
      }
      if (k === 'Fn::Join') {
        const [sep, parts] = arg as [string, unknown[]];
        return (this.value(parts) as unknown[]).join(sep);
      }
      if (k === 'Fn::Select') {
        const [index, list] = arg as [number | string, unknown];
        return (this.value(list) as unknown[])[Number(index)];
      }
      if (k === 'Fn::Split') {
        const [sep, text] = arg as [string, unknown];
        return (this.value(text) as string).split(sep);
      }
      if (k === 'Fn::Sub') {
        const [text, vars] = (typeof arg === 'string' ? [arg, {}] : arg) as [string, Record<string, unknown>];
        return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
          if (name in vars) return String(this.value(vars[name]));
          return String(name.includes('.') ? this.value({ 'Fn::GetAtt': name }) : this.ref(name));
        });
      }
      if (k.startsWith('Fn::')) throw new Error(`${this.stack.stackName}: intrinsic ${k} is not modelled`);
    }
    return Object.fromEntries(keys.map((key) => [key, this.value(o[key])]));
  }

  private ref(name: string): string {
    const { account, region, stackName } = this.stack;
    switch (name) {
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::AccountId':
        return account;
      case 'AWS::Region':
        return region;
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stackName;
      default:
        if (!(name in this.stack.template.Resources)) throw new Error(`${stackName}: Ref ${name} is not modelled`);
        return this.resource(name).ref;
    }
  }

  /** A resource's physical name, ref and attributes, from its properties or its logical id. */
  private physical(id: string): Resolved {
    const { account, region, stackName } = this.stack;
    const r = this.stack.template.Resources[id];
    if (!r) throw new Error(`${stackName}: no resource ${id}`);
    const p = r.Properties ?? {};
    const named = (prop: string) => {
      const v = p[prop];
      return typeof v === 'string' ? v : `${stackName}-${id}`.toLowerCase().slice(0, 63);
    };
    switch (r.Type) {
      case 'AWS::DynamoDB::Table': {
        const name = named('TableName');
        const arn = `arn:aws:dynamodb:${region}:${account}:table/${name}`;
        return { ref: name, attrs: { Arn: arn, StreamArn: `${arn}/stream/${STREAM_LABEL}` } };
      }
      case 'AWS::SQS::Queue': {
        const name = named('QueueName');
        return {
          ref: `https://sqs.${region}.amazonaws.com/${account}/${name}`,
          attrs: { Arn: `arn:aws:sqs:${region}:${account}:${name}`, QueueName: name },
        };
      }
      case 'AWS::S3::Bucket': {
        const name = named('BucketName');
        return { ref: name, attrs: { Arn: `arn:aws:s3:::${name}`, DomainName: `${name}.s3.amazonaws.com` } };
      }
      case 'AWS::SNS::Topic': {
        const name = named('TopicName');
        const arn = `arn:aws:sns:${region}:${account}:${name}`;
        return { ref: arn, attrs: { TopicArn: arn, TopicName: name } };
      }
      case 'AWS::KMS::Key': {
        const keyId = `key-${id}`.toLowerCase();
        return { ref: keyId, attrs: { Arn: `arn:aws:kms:${region}:${account}:key/${keyId}`, KeyId: keyId } };
      }
      case 'AWS::IAM::Role': {
        const name = named('RoleName');
        const path = typeof p.Path === 'string' ? p.Path : '/';
        return { ref: name, attrs: { Arn: `arn:aws:iam::${account}:role${path}${name}`, RoleId: `AROA${id}` } };
      }
      case 'AWS::Lambda::Function': {
        const name = named('FunctionName');
        return { ref: name, attrs: { Arn: `arn:aws:lambda:${region}:${account}:function:${name}` } };
      }
      case 'AWS::Logs::LogGroup': {
        const name = named('LogGroupName');
        return { ref: name, attrs: { Arn: `arn:aws:logs:${region}:${account}:log-group:${name}:*` } };
      }
      case 'AWS::Events::Rule': {
        const name = named('Name');
        return { ref: name, attrs: { Arn: `arn:aws:events:${region}:${account}:rule/${name}` } };
      }
      case 'AWS::CloudWatch::Alarm': {
        const name = named('AlarmName');
        return { ref: name, attrs: { Arn: `arn:aws:cloudwatch:${region}:${account}:alarm:${name}` } };
      }
      default:
        return { ref: `${stackName}-${id}`, attrs: {} };
    }
  }
}
