/**
 * The role a target account gives Replicator: named as the config's `roleArn` says, assumable only by the
 * source account's Replicator functions that write or reconcile its targets (and the operators the config
 * names), only with the target's external id. Its permissions are added by the caller: only what those
 * functions do on those targets.
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';

/** Props of a {@link TargetAccessRole}. */
export interface TargetAccessRoleProps {
  /** The ARN the config's targets name; its path and name are the role's. */
  readonly roleArn: string;
  /** The account Replicator's functions run in (the trust policy's principal). */
  readonly sourceAccount: string;
  /** The principals of the source account that may assume the role (aws:PrincipalArn), e.g. function roles. */
  readonly trusted: readonly string[];
  /** The external ids of the targets that use the role (sts:ExternalId must be one of them). */
  readonly externalIds: readonly string[];
}

/** The path (`/`, or `/a/b/`) and name of a role ARN. */
export function roleNameAndPath(roleArn: string): { path: string; name: string } {
  const resource = roleArn.split(':').slice(5).join(':').replace(/^role/, '');
  const at = resource.lastIndexOf('/');
  return { path: resource.slice(0, at + 1), name: resource.slice(at + 1) };
}

/**
 * A target account's role for Replicator. The trust policy names the source account as principal and the
 * trusted roles in an `aws:PrincipalArn` condition rather than as principals: IAM turns a principal role into
 * its unique id, so a recreated function role would lose the trust, and it rejects roles that do not exist yet.
 */
export class TargetAccessRole extends Construct {
  readonly role: iam.Role;

  constructor(scope: Construct, id: string, props: TargetAccessRoleProps) {
    super(scope, id);
    const { path, name } = roleNameAndPath(props.roleArn);
    const account = props.roleArn.split(':')[4];
    const stackAccount = Stack.of(this).account;
    if (account !== stackAccount) {
      throw new Error(
        `TargetAccessRole ${props.roleArn}: the role is in account ${account}, the stack in ${stackAccount}`,
      );
    }
    if (props.trusted.length === 0 || props.externalIds.length === 0) {
      throw new Error(`TargetAccessRole ${props.roleArn}: needs at least one trusted principal and one external id`);
    }
    this.role = new iam.Role(this, 'Role', {
      roleName: name,
      path,
      description: `Replicator: lets the functions of account ${props.sourceAccount} write their targets in this account`,
      assumedBy: new iam.AccountPrincipal(props.sourceAccount).withConditions({
        StringEquals: { 'sts:ExternalId': [...props.externalIds] },
        ArnEquals: { 'aws:PrincipalArn': [...props.trusted] },
      }),
    });
  }
}
