/**
 * Which other accounts a config reaches, CDK-free (the CLI and the local cloud read it too): the roles its
 * targets name in other accounts, and the environments of the target accounts' stacks.
 */
import type { Region, ReplicationConfig } from './config';
import { roleAccount, targetAccountOf } from './pair-types/common-schema';
import type { PairConfig, TargetConfig } from './pair-types/schemas';

/** A role of a target account, as the config's targets name it, and every target that uses it. */
export interface TargetRoleUse {
  readonly roleArn: string;
  /** The region of the first target that uses it, whose target account stack builds it (roles are global). */
  readonly homeRegion: string;
  readonly uses: { readonly pair: PairConfig; readonly target: TargetConfig }[];
}

/** Every role of another account that the config's targets name (not `sourceAccount`'s), in config order. */
export function targetRoles(config: ReplicationConfig, sourceAccount: string): TargetRoleUse[] {
  const roles = new Map<string, { roleArn: string; homeRegion: string; uses: TargetRoleUse['uses'][number][] }>();
  for (const pair of config.pairs) {
    for (const target of pair.targets as readonly TargetConfig[]) {
      if (!target.roleArn || roleAccount(target.roleArn) === sourceAccount) continue;
      const role = roles.get(target.roleArn) ?? { roleArn: target.roleArn, homeRegion: target.region, uses: [] };
      role.uses.push({ pair, target });
      roles.set(target.roleArn, role);
    }
  }
  return [...roles.values()];
}

/**
 * The environments of the target accounts' stacks: every other account and region with a created target or
 * the home of a role ({@link targetRoles}), sorted.
 */
export function targetAccountEnvironments(
  config: ReplicationConfig,
  sourceAccount: string,
): { readonly account: string; readonly region: Region }[] {
  const out = new Map<string, { account: string; region: Region }>();
  const add = (account: string, region: string) =>
    out.set(`${account}/${region}`, { account, region: region as Region });
  for (const role of targetRoles(config, sourceAccount)) add(roleAccount(role.roleArn), role.homeRegion);
  for (const pair of config.pairs) {
    for (const t of pair.targets as readonly TargetConfig[]) {
      const account = targetAccountOf(t);
      if (t.create && account !== undefined && account !== sourceAccount) add(account, t.region);
    }
  }
  return [...out.keys()].sort().map((k) => out.get(k)!);
}
