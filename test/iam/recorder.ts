/**
 * Records the calls Replicator's functions make on the local cloud, as IAM will authorize them on AWS: every
 * request that passes the local cloud's proxy is read (request-actions.ts) and attributed to its principal by
 * its access key — each function signs with a key of its own (localAccessKeyId), and a target role it assumes
 * signs with the key STS returned for that role. Distinct calls only, so a long run stays small.
 */

import { credentialScope, type ObservedExchange } from '../../src/local/counting-proxy';
import { localAccessKeyId } from '../../src/local/function-pool';
import type { Call } from './evaluate';
import { type Authorization, authorizationsOf } from './request-actions';

/** A request and its response, as the proxy's observer sees them. */
export type Exchange = ObservedExchange;

/** Who signed: a function (by name) or a role it assumed (by ARN). */
type Signer = { readonly function: string } | { readonly role: string; readonly by: string };

/** Distinct calls by signer, action, resource and condition keys. */
export class CallRecorder {
  private readonly signers = new Map<string, Signer>();
  private readonly seen = new Map<string, { signer: Signer; auth: Authorization }>();
  /** Requests not signed by a function or a role it assumed (the runtime's pollers, the tests' own clients). */
  unattributed = 0;
  /** Requests whose IAM reading failed, with why (a test asserts there are none). */
  readonly unreadable: string[] = [];

  /** @param functionNames the functions whose calls are recorded. */
  constructor(
    functionNames: readonly string[],
    private readonly account: string,
  ) {
    for (const name of functionNames) this.signers.set(localAccessKeyId(name), { function: name });
  }

  /** The proxy's observer: reads one exchange. */
  readonly observe = (x: Exchange): void => {
    const scope = credentialScope(x.headers.authorization);
    const signer = scope ? this.signers.get(scope.accessKeyId) : undefined;
    if (!signer) {
      this.unattributed += 1;
      return;
    }
    let auths: Authorization[];
    try {
      // A function acts in the deployment's account; an assumed role in its own (moto runs its calls there).
      auths = authorizationsOf(x, 'role' in signer ? (signer.role.split(':')[4] ?? this.account) : this.account);
    } catch (err) {
      this.unreadable.push((err as Error).message);
      return;
    }
    for (const auth of auths) {
      const key = JSON.stringify([signer, auth.action, auth.resource, auth.context ?? {}]);
      if (!this.seen.has(key)) this.seen.set(key, { signer, auth });
      if (auth.action === 'sts:AssumeRole' && x.status === 200 && x.responseBody !== undefined) {
        const assumedKey = /<AccessKeyId>([^<]+)<\/AccessKeyId>/.exec(x.responseBody)?.[1];
        const by = 'function' in signer ? signer.function : signer.by;
        if (assumedKey !== undefined) this.signers.set(assumedKey, { role: auth.resource, by });
      }
    }
  };

  /**
   * The recorded calls, each with its principal: the function's role (from `functionRoles`) or the assumed role.
   * An S3 resource's account is its bucket's (`bucketAccounts`), else the deployment's.
   */
  calls(functionRoles: ReadonlyMap<string, string>, bucketAccounts: ReadonlyMap<string, string> = new Map()): Call[] {
    return [...this.seen.values()].map(({ signer, auth }) => {
      const principal = 'function' in signer ? functionRoles.get(signer.function) : signer.role;
      if (principal === undefined) throw new Error(`no role for function ${JSON.stringify(signer)}`);
      const who = 'function' in signer ? signer.function : `${signer.by} as ${signer.role}`;
      return {
        principal,
        action: auth.action,
        resource: auth.resource,
        resourceAccount: resourceAccount(auth.resource, this.account, bucketAccounts),
        ...(auth.context ? { context: auth.context } : {}),
        why: `${who} calls ${auth.action}`,
      };
    });
  }
}

/** The account in an ARN, or (S3 ARNs carry none) its bucket's, else the deployment's. */
function resourceAccount(arn: string, fallback: string, bucketAccounts: ReadonlyMap<string, string>): string {
  const account = arn.split(':')[4];
  if (account !== undefined && /^\d{12}$/.test(account)) return account;
  const bucket = /^arn:aws:s3:::([^/]+)/.exec(arn)?.[1];
  return (bucket !== undefined ? bucketAccounts.get(bucket) : undefined) ?? fallback;
}
