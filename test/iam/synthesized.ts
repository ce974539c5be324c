/**
 * A config's deployment as the evaluator reads it, without deploying: every synthesized stack's template,
 * account and region, and the synth warnings.
 */
import type { App } from 'aws-cdk-lib';
import type { ReplicationConfig, ReplicationConfigInput } from '../../lib/config';
import { build } from '../infra/helpers';
import type { DeployedTemplate } from './template-model';

/** The account of stacks whose config names none. */
export const SYNTH_ACCOUNT = '123456789012';

/** The validated config, its stacks as the evaluator reads them, and the synth warnings. */
export async function synthesizedDeployment(
  config: ReplicationConfigInput,
): Promise<{ config: ReplicationConfig; stacks: DeployedTemplate[]; warnings: string[] }> {
  const built = await build(config);
  const assembly = (built.source.node.root as App).synth();
  const stacks = assembly.stacks.map((s) => ({
    stackName: s.stackName,
    account: /^\d{12}$/.test(s.environment.account) ? s.environment.account : SYNTH_ACCOUNT,
    region: s.environment.region,
    template: s.template,
  }));
  const warnings = assembly.stacks.flatMap((s) =>
    s.messages.filter((m) => m.level === 'warning').map((m) => String(m.entry.data)),
  );
  return { config: built.config, stacks, warnings };
}
