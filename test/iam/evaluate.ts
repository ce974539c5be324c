/**
 * Evaluates AWS calls against the IAM side of synthesized templates (template-model.ts) with
 * @cloud-copilot/iam-simulate, a maintained IAM policy evaluator that handles identity policies, resource
 * policies, trust and key policies and cross-account requests (moto's own enforcement checks identity policies
 * only). AGPL-3.0: a dev dependency of the tests, never bundled into a function.
 */
import { isWildcardOnlyAction, runSimulation, type Simulation } from '@cloud-copilot/iam-simulate';
import type { IamModel } from './template-model';

/** One call Replicator, or an AWS service working for it, makes. */
export interface Call {
  /** A role ARN (a function's, or a target role it assumes), or a service principal (`cloudwatch.amazonaws.com`). */
  readonly principal: string;
  readonly action: string;
  /** The ARN the action is authorized on. */
  readonly resource: string;
  /** The account that owns the resource. */
  readonly resourceAccount: string;
  /** Condition keys of the request (aws:SecureTransport is `true` unless given). */
  readonly context?: Readonly<Record<string, string | string[]>>;
  /** Who makes the call and why, as a failure names it. */
  readonly why: string;
}

/** What AWS would decide, and where to look when it is not Allowed. */
export interface Decision {
  readonly call: Call;
  readonly result: 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';
  /** What is missing or what denies, for a failure message. */
  readonly detail: string;
}

const SERVICE_PRINCIPAL = /^[a-z0-9.-]+\.amazonaws\.com$/;

/** Whether a principal is a role the model holds, a service, or a role outside the templates. */
function principalKind(model: IamModel, principal: string): 'role' | 'service' | 'external' {
  if (SERVICE_PRINCIPAL.test(principal)) return 'service';
  return model.roles.has(principal) ? 'role' : 'external';
}

/**
 * AWS's decision on one call. A role outside the templates (a target account's role that account manages) is
 * given an identity policy that allows the call, so what is checked is this deployment's side: the resource
 * policy (and, for a role of the model, its identity policies).
 */
export async function evaluate(model: IamModel, call: Call): Promise<Decision> {
  const kind = principalKind(model, call.principal);
  const role = model.roles.get(call.principal);
  const resourcePolicy =
    call.action === 'sts:AssumeRole'
      ? model.roles.get(call.resource)?.trust
      : model.resourcePolicies.get(resourceOwnerArn(call.resource))?.policy;
  // An action that takes no resource (dynamodb:ListStreams) is authorized on "*".
  const [service, action] = call.action.split(':') as [string, string];
  const resource = (await isWildcardOnlyAction(service, action)) ? '*' : call.resource;
  const simulation: Simulation = {
    request: {
      principal: call.principal,
      action: call.action,
      resource: { resource, accountId: call.resourceAccount },
      contextVariables: {
        'aws:SecureTransport': 'true',
        // AWS sets these on every request of an IAM principal; the evaluator does not derive them itself.
        ...(kind === 'service'
          ? {}
          : { 'aws:PrincipalArn': call.principal, 'aws:PrincipalAccount': call.principal.split(':')[4]! }),
        ...call.context,
      },
    },
    identityPolicies:
      kind === 'role'
        ? role!.policies.map((p) => ({ name: p.name, policy: p.policy }))
        : kind === 'external'
          ? [{ name: 'target-account', policy: { Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] } }]
          : [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(resourcePolicy ? { resourcePolicy } : {}),
  };
  const response = await runSimulation(simulation, {});
  if (response.resultType === 'error') {
    throw new Error(`${call.why}: the simulation could not run: ${JSON.stringify(response.errors)}`);
  }
  const result = response.overallResult as Decision['result'];
  return { call, result, detail: result === 'Allowed' ? '' : explain(call, kind, Boolean(resourcePolicy), result) };
}

/** Evaluates every call; resolves to the ones AWS would deny. */
export async function denied(model: IamModel, calls: readonly Call[]): Promise<Decision[]> {
  const out: Decision[] = [];
  for (const c of calls) {
    const d = await evaluate(model, c);
    if (d.result !== 'Allowed') out.push(d);
  }
  return out;
}

/** One line per denied call: who, what, on what, and which policy is missing or denies. */
export function describeDenials(decisions: readonly Decision[]): string {
  return decisions
    .map((d) => `${d.result}: ${d.call.why}: ${d.call.principal} ${d.call.action} on ${d.call.resource} (${d.detail})`)
    .join('\n');
}

/** The ARN whose resource policy governs `resource`: an object's bucket, or the resource itself. */
function resourceOwnerArn(resource: string): string {
  const s3 = /^arn:aws:s3:::([^/]+)/.exec(resource);
  return s3 ? `arn:aws:s3:::${s3[1]}` : resource;
}

function explain(call: Call, kind: string, hasResourcePolicy: boolean, result: Decision['result']): string {
  if (result === 'ExplicitlyDenied') return 'a Deny statement matches';
  const sameAccount = kind === 'service' || call.principal.split(':')[4] === call.resourceAccount;
  if (kind === 'service') {
    return hasResourcePolicy
      ? `the resource policy of ${call.resource} allows no ${call.action} by ${call.principal}`
      : `${call.resource} has no resource policy: nothing lets ${call.principal} call ${call.action}`;
  }
  if (!sameAccount) {
    return hasResourcePolicy
      ? `cross-account: the resource policy of ${call.resource} must allow ${call.principal} (and its identity policy the call)`
      : `cross-account: ${call.resource} has no resource policy allowing ${call.principal}`;
  }
  return `no identity policy statement of ${call.principal} allows it${hasResourcePolicy ? ', nor does the resource policy' : ''}`;
}
