/**
 * The IAM contract on the local cloud: records the calls the deployed functions make while an end-to-end suite
 * runs (recorder.ts), then evaluates each against the templates the local cloud deployed, together with the
 * calls AWS services make for that deployment (service-calls.ts).
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { LocalCloud } from '../../src/cli/local-cloud';
import { type Call, denied, describeDenials } from './evaluate';
import { CallRecorder } from './recorder';
import { serviceCalls } from './service-calls';
import { type DeployedTemplate, iamModel } from './template-model';

/** moto's account for every request signed with a key it does not know. */
export const LOCAL_ACCOUNT = '123456789012';

/** The templates the local cloud deployed, as the evaluator reads them. */
export function deployedTemplates(cloud: LocalCloud): DeployedTemplate[] {
  return cloud.deployed.stacks.map((s) => ({
    stackName: s.stackName,
    account: s.account,
    region: s.region,
    template: JSON.parse(readFileSync(s.templatePath, 'utf8')),
  }));
}

/** Starts recording the calls of every function the local cloud deployed; `stop` ends it. */
export function recordCalls(cloud: LocalCloud): { recorder: CallRecorder; stop(): void } {
  const model = iamModel(deployedTemplates(cloud));
  const recorder = new CallRecorder([...model.functionRoles.keys()], LOCAL_ACCOUNT);
  cloud.observeRequests(recorder.observe);
  return { recorder, stop: () => cloud.observeRequests(undefined) };
}

/** What the contract found: the calls recorded and made by services, and one line per call AWS would deny. */
export async function evaluateRecorded(
  cloud: LocalCloud,
  recorder: CallRecorder,
): Promise<{ recorded: Call[]; services: Call[]; denials: string }> {
  const stacks = deployedTemplates(cloud);
  const model = iamModel(stacks);
  const recorded = recorder.calls(model.functionRoles, model.bucketAccounts);
  const services = serviceCalls(stacks, model);
  const denials = describeDenials(await denied(model, [...recorded, ...services]));
  return { recorded, services, denials };
}

/** A call as the summary shows it: S3 object keys collapsed to their bucket. */
function shown(c: Call): string {
  return `${c.why} ${c.resource.replace(/^(arn:aws:s3:::[^/]+)\/.+$/, '$1/*')}`;
}

/**
 * Ends the recording of `recordCalls` and asserts the IAM contract: every request was read, the functions made
 * calls, and AWS would allow each of them and each call its services make for the deployment. Prints what was
 * checked.
 */
export async function expectCallsAllowed(cloud: LocalCloud, calls: ReturnType<typeof recordCalls>): Promise<void> {
  calls.stop();
  expect(calls.recorder.unreadable).toEqual([]);
  const r = await evaluateRecorded(cloud, calls.recorder);
  const kinds = [...new Set(r.recorded.map(shown))].sort();
  console.log(
    `IAM contract: ${r.recorded.length} distinct calls of the functions, ${r.services.length} of AWS services; the functions':\n${kinds.join('\n')}`,
  );
  expect(r.recorded.length).toBeGreaterThan(0);
  expect(r.denials).toBe('');
}
