/**
 * Pair names must not collide through the names of their resources: pair `x-dlq`'s queue would be pair `x`'s
 * DLQ. The config refuses a pair named after another pair plus one of the words its resources' names continue
 * with (lib/pair-types/common-schema.ts, RESOURCE_NAME_WORDS); this checks that list against every physical
 * name the stacks of both pair types give, so a resource added later cannot slip past it.
 */
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { RESOURCE_NAME_WORDS } from '../../lib/pair-types/common-schema';
import { build, TWO_PAIRS_CONFIG } from './helpers';

/** Every string property of a resource named like `replicator-…`, with the resource's type. */
function physicalNames(template: Record<string, unknown>): string[] {
  const out: string[] = [];
  const resources = template.Resources as Record<string, { Properties?: Record<string, unknown> }>;
  for (const r of Object.values(resources)) {
    for (const [key, value] of Object.entries(r.Properties ?? {})) {
      if (typeof value === 'string' && /Name$/.test(key) && value.startsWith('replicator-')) out.push(value);
    }
  }
  return out;
}

describe("names of a pair's resources", () => {
  it("continue the pair's name only with words the config reserves", async () => {
    const config = {
      ...TWO_PAIRS_CONFIG,
      pairs: [
        ...TWO_PAIRS_CONFIG.pairs,
        {
          name: 'models',
          type: 's3' as const,
          source: { bucket: 'models-src', create: true },
          targets: [{ region: 'eu-west-1', bucket: 'models-eu', create: true }],
        },
      ],
      reconcile: { schedule: 'rate(1 hour)', repair: true },
    };
    const built = await build(config, { account: '123456789012' });
    const words = new Set<string>();
    const all: string[] = [];
    for (const stack of [built.source, ...built.targets.values()]) {
      for (const name of physicalNames(Template.fromStack(stack).toJSON())) {
        all.push(name);
        for (const pair of config.pairs) {
          const prefix = `replicator-${pair.name}-`;
          if (name.startsWith(prefix)) words.add(name.slice(prefix.length).split('-')[0]!);
        }
      }
    }
    // Names of no pair's: the alarm topic only (an SNS topic, which no pair's queue, function or alarm can be).
    expect(
      [...new Set(all)].filter(
        (n) => !config.pairs.some((p) => n === `replicator-${p.name}` || n.startsWith(`replicator-${p.name}-`)),
      ),
    ).toEqual(['replicator-alarms']);
    expect(words.size).toBeGreaterThan(5);
    expect([...words].filter((w) => !RESOURCE_NAME_WORDS.includes(w)).sort()).toEqual([]);
  });
});
