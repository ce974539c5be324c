/**
 * The `replicator` CLI: `local`, `status`, `redrive`, `backfill`, `reconcile`, `wait`. Every command takes `--config`, `--region` and
 * `--endpoint` and uses the normal AWS credential chain.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { pairResourceNames } from '../../functions/contract';
import { mismatchedOf } from '../../functions/engine/reconcile-run';
import { loadConfigFile, type PairConfig, RECONCILE_DEFAULTS, type ReplicationConfig } from '../../lib/config';
import { DeployError, type DeployProgress } from '../local/deploy';
import { startMoto } from '../local/moto';
import { waitForReplication } from '../wait';
import {
  backfillPair,
  DEFAULT_BACKFILL_RATE,
  DEFAULT_BACKFILL_SHARDS,
  formatDuration,
  progressLine,
  renderBackfillSummary,
  selectTargets,
  startDeployedBackfill,
  stopDeployedBackfill,
} from './backfill';
import { runDemo } from './demo';
import { type ErrorContext, EXIT, explain } from './errors';
import { type LocalCloud, PROJECT_DIR, startLocalCloud } from './local-cloud';
import { pairStatus, redrive } from './operations';
import { driverOf } from './pair-types/registry';
import { exitCodeOf, reconcilePair, renderReport } from './reconcile';
import { ms, renderTable } from './table';

interface CommonOptions {
  config: string;
  region?: string;
  endpoint?: string;
}

const positiveInt = (name: string) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1)
    throw new InvalidArgumentError(`${name} must be a whole number ≥ 1 (given "${v}")`);
  return n;
};

/** The pair of that name, or an error that lists the config's pairs. */
function findPair(cfg: ReplicationConfig, name: string): PairConfig {
  const pair = cfg.pairs.find((p) => p.name === name);
  if (!pair) {
    throw new InvalidArgumentError(
      `unknown pair "${name}"; the config has: ${cfg.pairs.map((p) => p.name).join(', ')}`,
    );
  }
  return pair;
}

/** `--endpoint`: a URL with its scheme (a bare `host:port` would be taken for something else by the SDK). */
function endpointUrl(v: string): string {
  if (!/^https?:\/\/[^/\s]+/.test(v)) {
    throw new InvalidArgumentError(
      `--endpoint must be a URL with its scheme, e.g. http://localhost:5000 (given "${v}")`,
    );
  }
  return v;
}

function common(cmd: Command): Command {
  return cmd
    .option('--config <path>', 'replication config file', 'replication.config.json')
    .option('--region <region>', 'region of the source stack (default: the config’s sourceRegion)')
    .option('--endpoint <url>', 'AWS endpoint override (e.g. a local moto_server)', endpointUrl)
    .option('--debug', 'on an error, print its stack trace too');
}

/** What the command being run was given, for the error messages (set before each action). */
let context: ErrorContext = {};

/** The config of `--config`; the region a command works in (`--region`, else its sourceRegion) joins the context. */
function loadConfig(o: CommonOptions): ReplicationConfig {
  const cfg = loadConfigFile(o.config);
  context = { ...context, region: o.region ?? cfg.sourceRegion };
  return cfg;
}

/** Builds the CLI program (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('replicator')
    .description('Cross-region replication for DynamoDB tables and S3 buckets')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride()
    // Errors are printed once, by main(), as one line and a hint.
    .configureOutput({ outputError: () => undefined })
    .showSuggestionAfterError()
    .hook('preAction', (_, action) => {
      const o = action.opts() as Partial<CommonOptions>;
      context = { ...context, endpoint: o.endpoint, region: o.region, pair: action.args[0] };
    });

  common(program.command('local'))
    .addHelpText(
      'after',
      '\nExamples:\n  npx replicator local --demo            # deploy to a new moto, write a workload, verify, exit\n  npx replicator local                   # deploy and keep replicating until Ctrl-C\n  npx replicator local --endpoint http://localhost:5000 --config my.json',
    )
    .description('start moto (or use --endpoint), deploy the app to it and run the local runtime until stopped')
    .option('--demo', 'write a sample workload, verify every target, print a summary and exit')
    .option('--ops <n>', 'demo: writes per pair', positiveInt('--ops'), 1000)
    .option('--rate <n>', 'demo: offered writes per second', positiveInt('--rate'), 100)
    .option('--timeout <seconds>', 'demo: how long to wait for convergence', positiveInt('--timeout'), 180)
    .option('--verbose', 'print the cdk and function logs')
    .action(
      async (o: CommonOptions & { demo?: boolean; ops: number; rate: number; timeout: number; verbose?: boolean }) => {
        const configPath = resolve(o.config);
        const log = (line: string) => {
          if (o.verbose || !line.startsWith('  ')) console.log(line);
        };
        // A signal at any phase stops what runs and cleans up what was started (moto, cdk, the runtime).
        const startup = new AbortController();
        let cloud: LocalCloud | undefined;
        let stopping = false;
        let exitCode = 0;
        const stop = async (code: number) => {
          if (stopping) return;
          stopping = true;
          exitCode = code;
          if (cloud === undefined) {
            console.log('stopping: cleaning up what was started ...');
            startup.abort();
            return;
          }
          await cloud.stop();
          process.exit(code);
        };
        process.on('SIGINT', () => void stop(130));
        process.on('SIGTERM', () => void stop(143));
        try {
          cloud = await startLocalCloud({
            configPath,
            endpoint: o.endpoint,
            projectDir: PROJECT_DIR,
            log,
            signal: startup.signal,
            keepWorkDir: true,
            onDeployProgress: o.verbose ? undefined : deployProgressPrinter(),
          });
        } catch (err) {
          if (startup.signal.aborted) process.exit(exitCode);
          throw err;
        }
        console.log(`READY ${cloud.endpoint}`);
        if (!o.demo) return;
        try {
          const result = await runDemo(cloud, { ops: o.ops, rate: o.rate, timeoutMs: o.timeout * 1000 });
          await stop(result.converged ? 0 : 1);
        } catch (err) {
          const failure = explain(err, context);
          console.error(`error: the demo failed: ${failure.message}`);
          if (failure.hint) console.error(`hint: ${failure.hint}`);
          await stop(failure.exitCode);
        }
      },
    );

  program
    .command('moto')
    .addHelpText(
      'after',
      '\nExamples:\n  npx replicator moto --port 5000        # then: npx replicator local --endpoint http://localhost:5000',
    )
    .description(
      "start a moto_server with Replicator's hook (moto's own event source mappings kept away, so the local " +
        'runtime is the only consumer of streams and queues), for `replicator local --endpoint`; runs until stopped',
    )
    .option('--port <n>', 'TCP port to listen on (127.0.0.1)', positiveInt('--port'), 5000)
    .action(async (o: { port: number }) => {
      const moto = await startMoto({ port: o.port });
      const stop = async (code: number) => {
        await moto.stop();
        process.exit(code);
      };
      process.on('SIGINT', () => void stop(130));
      process.on('SIGTERM', () => void stop(143));
      console.log(`READY ${moto.endpoint}`);
    });

  common(program.command('status'))
    .addHelpText(
      'after',
      '\nExamples:\n  npx replicator status\n  npx replicator status --json --region us-east-1\n  npx replicator status --endpoint http://localhost:5000   # the local cloud',
    )
    .description(
      'per pair and target: queue and DLQ depth, capture failures, items replicated and lag in the last hour, ' +
        'and the last reconcile run (time, consistency, mismatched and repaired items)',
    )
    .option('--json', 'print JSON')
    .action(async (o: CommonOptions & { json?: boolean }) => {
      const cfg = loadConfig(o);
      const status = await pairStatus(cfg, { region: o.region ?? cfg.sourceRegion, endpoint: o.endpoint });
      if (o.json) {
        console.log(JSON.stringify(status, null, 2));
        if (status.some((x) => !x.deployed)) process.exitCode = EXIT.NOT_DEPLOYED;
        return;
      }
      const time = (isoTime: string) => isoTime.replace(/\.\d{3}Z$/, 'Z');
      // Floored, so a ratio just under 1 never shows as 100%.
      const percent = (r: number) => (r === 1 ? '100%' : `${(Math.floor(r * 10_000) / 100).toFixed(2)}%`);
      const notes: string[] = [];
      const problems: string[] = [];
      const rows = status.flatMap((s) => {
        if (!s.deployed) {
          problems.push(`${s.pair}: not deployed (${s.reason})`);
          return s.targets.map((t) => [s.pair, t.target, 'not deployed', '-', '-', '-', '-', '-', '-', '-', '-', '-']);
        }
        const run = s.lastReconcile;
        // Without a readable report, an error means the report (or checkpoint) is there but corrupt.
        let last = run
          ? `${time(run.finishedAt ?? run.startedAt)}${run.trigger === 'cli' ? ' (on demand)' : ''}`
          : s.reconcileErrors.length > 0
            ? 'unreadable'
            : 'never';
        const running = s.reconcileInProgress;
        if (running) {
          last += ' (run in progress)';
          notes.push(
            `${s.pair}: reconcile run in progress since ${time(running.startedAt)}: ${running.checked} item(s) checked, ` +
              `${running.segmentsDone}/${running.segmentsTotal} scan segment(s) done, ${running.invocations} invocation(s)`,
          );
        }
        const b = s.backfill;
        if (b && b.state !== 'complete') {
          notes.push(
            `${s.pair}: backfill ${b.state}${b.by === 'job' ? ' (deployed job)' : ''} ${(b.fraction * 100).toFixed(0)}%: ` +
              `${b.read} read, ${b.enqueued} enqueued since ${time(b.startedAt)}` +
              (b.etaSeconds !== null ? `, about ${formatDuration(b.etaSeconds * 1000)} left` : '') +
              (b.state === 'paused' ? ` (run "replicator backfill ${s.pair}" to continue)` : ''),
          );
        } else if (b) {
          notes.push(`${s.pair}: backfill complete at ${time(b.finishedAt ?? b.startedAt)}: ${b.enqueued} enqueued`);
        }
        for (const e of s.reconcileErrors) problems.push(`${s.pair}: ${e}`);
        return s.targets.map((t) => {
          const r = t.lastReconcile;
          return [
            s.pair,
            t.target,
            s.queueDepth,
            s.dlqDepth,
            s.captureFailures,
            t.backlogAgeMs === null ? '-' : `${t.backlogEnvelopes} re-sent, oldest ${ms(t.backlogAgeMs)}`,
            t.replicatedLastHour,
            t.lagMs === null ? '-' : `${ms(t.lagMs)} ${t.lagStatistic === 'p99' ? 'p99' : 'max'}`,
            last,
            r ? percent(r.consistencyRatio) : '-',
            r ? mismatchedOf(r) : '-',
            r ? r.repaired : '-',
          ];
        });
      });
      console.log(
        renderTable(
          [
            'pair',
            'target',
            'queue',
            'dlq',
            'capture failures',
            'waiting for a retry (20 min)',
            'replicated (1 h)',
            'lag (1 h, p99 or max)',
            'last reconcile',
            'consistency',
            'mismatched',
            'repaired',
          ],
          rows,
        ),
      );
      for (const n of notes) console.log(n);
      for (const p of problems) console.error(p);
      if (status.some((x) => !x.deployed)) process.exitCode = EXIT.NOT_DEPLOYED;
    });

  common(program.command('redrive'))
    .addHelpText(
      'after',
      '\nExamples:\n  npx replicator redrive orders --dry-run   # what failed where, and why; moves nothing\n  npx replicator redrive orders',
    )
    .description(
      "move a pair's dead letters back to its queue (each keeps the target it failed on), grouped by target " +
        'and reason with counts, oldest and newest',
    )
    .argument('<pair>', 'pair name')
    .option('--dry-run', 'only show the dead letters, grouped; leave them in the DLQ')
    .option('--json', 'print the groups as JSON')
    .action(async (pair: string, o: CommonOptions & { dryRun?: boolean; json?: boolean }) => {
      const cfg = loadConfig(o);
      findPair(cfg, pair);
      const tty = process.stderr.isTTY;
      const r = await redrive(
        pair,
        { region: o.region ?? cfg.sourceRegion, endpoint: o.endpoint },
        {
          dryRun: o.dryRun,
          onProgress: (seen) => (tty ? process.stderr.write(`\rread ${seen} dead letter(s)`) : undefined),
        },
      );
      if (tty) process.stderr.write('\n');
      if (o.json) {
        console.log(JSON.stringify(r, null, 2));
        return;
      }
      if (r.groups.length > 0) {
        const at = (iso: string) => iso.replace(/\.\d{3}Z$/, 'Z');
        console.log(
          renderTable(
            ['target', 'reason', 'count', 'oldest', 'newest', 'example'],
            r.groups.map((g) => [g.target, g.reason, g.count, at(g.oldest), at(g.newest), g.example]),
          ),
        );
      }
      const queue = pairResourceNames(pair).queue;
      console.log(
        o.dryRun
          ? `${r.seen} dead letter(s) of ${pair}; nothing moved (--dry-run): run without it to move them back to ${queue}`
          : `moved ${r.moved} of ${r.seen} dead letter(s) of ${pair} back to ${queue}`,
      );
    });

  common(program.command('backfill'))
    .addHelpText(
      'after',
      '\nExamples:\n  npx replicator backfill orders\n  npx replicator backfill datasets --target eu-west-1 --rate 2000 --shards 16\n  npx replicator backfill orders --restart',
    )
    .description(
      "fill a pair's targets with what they lack of the source, through the pair's queue while live writes go on; " +
        'resumable: Ctrl-C, then the same command continues where it stopped',
    )
    .argument('<pair>', 'pair name')
    .option(
      '--target <id>',
      'only this target (its id, region/table or region/bucket, or its region); repeat for several',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .option(
      '--rate <n>',
      `source items (objects) per second at most (default ${DEFAULT_BACKFILL_RATE})`,
      positiveInt('--rate'),
    )
    .option(
      '--shards <n>',
      `parallel scan segments (tables) or key ranges (buckets) (default ${DEFAULT_BACKFILL_SHARDS})`,
      positiveInt('--shards'),
    )
    .option('--segments <n>', 'same as --shards (kept for earlier scripts)', positiveInt('--segments'))
    .option('--restart', 'forget an unfinished (or finished) backfill and start over')
    .option(
      '--deployed',
      "run it as the pair's backfill job in AWS (no terminal needed; `replicator status` shows its progress)",
    )
    .option('--stop', "stop the pair's deployed backfill job (its checkpoint stays: --deployed continues it)")
    .option('--json', 'print the run report as JSON')
    .action(
      async (
        name: string,
        o: CommonOptions & {
          target?: string[];
          rate?: number;
          shards?: number;
          segments?: number;
          restart?: boolean;
          deployed?: boolean;
          stop?: boolean;
          json?: boolean;
        },
      ) => {
        const cfg = loadConfig(o);
        const pair = findPair(cfg, name);
        const kind = driverOf(pair).kind;
        const where = { pair, sourceRegion: o.region ?? cfg.sourceRegion, endpoint: o.endpoint };
        if (o.stop) {
          const stopped = await stopDeployedBackfill(where);
          console.log(
            stopped
              ? `stopped the deployed backfill job ${stopped} of ${pair.name}: it ends after its current invocation; --deployed continues it from its checkpoint`
              : `no deployed backfill job of ${pair.name} is running`,
          );
          return;
        }
        if (o.deployed) {
          const r = await startDeployedBackfill({
            ...where,
            ...(o.target ? { targets: o.target } : {}),
            ...(o.rate !== undefined ? { rate: o.rate } : {}),
            ...((o.shards ?? o.segments) !== undefined ? { shards: o.shards ?? o.segments } : {}),
            ...(o.restart ? { restart: true } : {}),
          });
          if (o.json) console.log(JSON.stringify(r, null, 2));
          else
            console.log(
              r.outcome === 'running'
                ? `a deployed backfill job of ${pair.name} is already running (job ${r.jobId}); follow it with \`replicator status\`, or start over with --deployed --restart`
                : `started the deployed backfill job ${r.jobId} of ${pair.name} (${r.targets.join(', ')}); follow it with \`replicator status\``,
            );
          return;
        }
        const stop = new AbortController();
        const onSignal = () => {
          if (stop.signal.aborted) process.exit(130);
          process.stderr.write('\nstopping after the current pages (Ctrl-C again to quit at once)...\n');
          stop.abort();
        };
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        const tty = process.stderr.isTTY;
        let lastLine = 0;
        try {
          const r = await backfillPair({
            pair,
            sourceRegion: o.region ?? cfg.sourceRegion,
            endpoint: o.endpoint,
            ...(o.target ? { targets: o.target } : {}),
            ...(o.rate !== undefined ? { rate: o.rate } : {}),
            ...((o.shards ?? o.segments) !== undefined ? { shards: o.shards ?? o.segments } : {}),
            restart: o.restart,
            signal: stop.signal,
            onProgress: (p) => {
              if (tty) process.stderr.write(`\r${progressLine(p, kind)}\u001b[K`);
              else if (Date.now() - lastLine >= 10_000) {
                lastLine = Date.now();
                console.error(progressLine(p, kind));
              }
            },
          });
          if (tty) process.stderr.write('\n');
          if (o.json) {
            console.log(JSON.stringify({ outcome: r.outcome, resumed: r.resumed, report: r.report }, null, 2));
          } else if (r.outcome === 'already-complete') {
            const at = r.report.finishedAt ? new Date(r.report.finishedAt).toISOString() : 'earlier';
            console.log(
              `backfill of ${pair.name} is already complete (finished ${at}); run with --restart to check every ${kind === 'objects' ? 'object' : 'item'} again`,
            );
          } else {
            console.log(renderBackfillSummary(r.report, kind));
            console.log(
              r.outcome === 'complete'
                ? `backfill of ${pair.name}${r.resumed ? ' (continued from an earlier run)' : ''}: complete in ${formatDuration(r.report.durationMs)}; the copies land as the pair queue drains (replicator status ${pair.name})`
                : `backfill of ${pair.name} stopped at ${(100 * r.fraction).toFixed(0)}%; run the same command to continue`,
            );
          }
          if (r.outcome === 'stopped') process.exitCode = 130;
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      },
    );

  common(program.command('wait'))
    .addHelpText(
      'after',
      `\nExamples:\n  npx replicator wait datasets --prefix ckpt/step-1000/ --timeout 300\n  npx replicator wait datasets "ckpt/step-1000/model.bin=9b2cf535f27731c974343645a3985328-12"\n  npx replicator wait orders '{"pk":{"S":"user-7"},"sk":{"S":"profile"}}'`,
    )
    .description(
      'return when every target of a pair holds what you wrote, or a newer version (exit 0), or name the targets ' +
        'that lag when the time is up (exit 1): reads the targets directly, one read per target and attempt',
    )
    .argument('<pair>', 'pair name')
    .argument(
      '[keys...]',
      "S3: object keys, each KEY or KEY=ETAG (default: the source's current ETag); DynamoDB: keys as DynamoDB JSON",
    )
    .option('--prefix <prefix>', 'S3: every object under this prefix, as the source holds it now')
    .option('--timeout <seconds>', 'give up after this many seconds', positiveInt('--timeout'), 60)
    .option(
      '--target <id>',
      'only this target (its id, or its region); repeat for several',
      (v: string, prev: string[] = []) => [...prev, v],
    )
    .action(
      async (
        name: string,
        keys: string[],
        o: CommonOptions & { prefix?: string; timeout: number; target?: string[] },
      ) => {
        const cfg = loadConfig(o);
        const pair = findPair(cfg, name);
        const kind = driverOf(pair).kind;
        const parseKey = (k: string) => {
          try {
            return JSON.parse(k) as Record<string, never>;
          } catch {
            throw new InvalidArgumentError(`key must be DynamoDB JSON, e.g. '{"pk":{"S":"a"}}' (given ${k})`);
          }
        };
        const objects = keys.map((k) => {
          const at = k.lastIndexOf('=');
          return at > 0 ? { key: k.slice(0, at), etag: k.slice(at + 1) } : { key: k };
        });
        const tty = process.stderr.isTTY;
        const r = await waitForReplication({
          pair,
          sourceRegion: o.region ?? cfg.sourceRegion,
          ...(o.endpoint ? { endpoint: o.endpoint } : {}),
          ...(kind === 'items' ? { items: keys.map((k) => ({ key: parseKey(k) })) } : {}),
          ...(kind === 'objects' && keys.length > 0 ? { objects } : {}),
          ...(o.prefix !== undefined ? { prefix: o.prefix } : {}),
          ...(o.target ? { targets: selectTargets(pair, o.target) } : {}),
          timeoutMs: o.timeout * 1000,
          onAttempt: (lagging) =>
            tty && lagging.length > 0
              ? process.stderr.write(
                  `\rwaiting for ${lagging.map((l) => `${l.target} (${l.pending})`).join(', ')}\u001b[K`,
                )
              : undefined,
        });
        if (tty) process.stderr.write('\r\u001b[K');
        console.log(
          `every target of ${pair.name} holds the ${r.keys} ${kind === 'objects' ? 'object' : 'item'}(s) (or newer): ${(r.elapsedMs / 1000).toFixed(1)} s, ${r.attempts} attempt(s)`,
        );
      },
    );

  common(program.command('reconcile'))
    .addHelpText(
      'after',
      '\nExamples:\n  npx replicator reconcile orders                       # report only; exit 1 if anything differs\n  npx replicator reconcile orders --repair --json\n  npx replicator reconcile datasets --repair --delete-extra',
    )
    .description(
      "compare a pair's source with its targets now (missing, extra, different items), optionally repair, " +
        'publish the metrics and print the report. Runs in this process with your credentials, assuming a ' +
        "target's role where it has one (the role must trust you: the config's operators).",
    )
    .argument('<pair>', 'pair name')
    .option('--repair', "re-enqueue the source's state of what differs through the pair's queue")
    .option(
      '--delete-extra',
      "with --repair, delete target items (objects) the source does not have (default: the pair's deleteExtra)",
    )
    .option('--json', 'print the run report as JSON')
    .option(
      '--segments <n>',
      `parallel scan segments per table (default: the config's reconcile.segments, else ${RECONCILE_DEFAULTS.segments})`,
      positiveInt('--segments'),
    )
    .option(
      '--read-rate <n>',
      `read capacity units per second for the whole run, S3 requests per second for S3 pairs (default: the config's reconcile.readRate, else ${RECONCILE_DEFAULTS.readRate})`,
      positiveInt('--read-rate'),
    )
    .action(
      async (
        name: string,
        o: CommonOptions & {
          repair?: boolean;
          deleteExtra?: boolean;
          json?: boolean;
          segments?: number;
          readRate?: number;
        },
      ) => {
        const cfg = loadConfig(o);
        const pair = findPair(cfg, name);
        if (o.deleteExtra && !o.repair) throw new InvalidArgumentError('--delete-extra needs --repair');
        // Progress goes to stderr, so --json output stays clean.
        const tty = process.stderr.isTTY;
        const r = await reconcilePair({
          pair,
          sourceRegion: o.region ?? cfg.sourceRegion,
          endpoint: o.endpoint,
          repair: o.repair,
          ...(o.deleteExtra ? { deleteExtra: true } : {}),
          segments: o.segments ?? cfg.reconcile?.segments ?? RECONCILE_DEFAULTS.segments,
          readRate: o.readRate ?? cfg.reconcile?.readRate ?? RECONCILE_DEFAULTS.readRate,
          onProgress: (checked) => (tty ? process.stderr.write(`\rchecked ${checked} item(s) so far`) : undefined),
        });
        if (tty) process.stderr.write('\n');
        console.log(o.json ? JSON.stringify(r.report, null, 2) : renderReport(r.report));
        process.exitCode = exitCodeOf(r);
      },
    );

  return program;
}

/**
 * Prints a deploy's progress: on a terminal one line rewritten in place, else a line per stack at each
 * quarter, so `local` is not silent for the minutes a deploy takes.
 */
function deployProgressPrinter(): (p: DeployProgress) => void {
  const tty = process.stdout.isTTY;
  const shown = new Map<string, number>();
  return (p) => {
    const line = `${p.phase}: ${p.stack} ${p.done}/${p.total} resources`;
    if (tty) {
      process.stdout.write(`\r${line}\u001b[K${p.done === p.total ? '\n' : ''}`);
      return;
    }
    const key = `${p.phase} ${p.stack}`;
    const quarter = p.total === 0 ? 4 : Math.floor((4 * p.done) / p.total);
    if ((shown.get(key) ?? -1) < quarter) {
      shown.set(key, quarter);
      console.log(line);
    }
  };
}

/** The version in package.json. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(resolve(PROJECT_DIR, 'package.json'), 'utf8')) as { version: string }).version;
}

/** Runs the CLI; on an error prints its line and hint (and with --debug its stack) and exits with its code. */
export async function main(argv: string[] = process.argv): Promise<void> {
  context = { command: argv.slice(2).find((a) => !a.startsWith('-')) };
  try {
    await buildProgram().parseAsync(argv);
  } catch (err) {
    // --help and --version end the parse with a CommanderError that is no error.
    if (err instanceof CommanderError && err.exitCode === 0) process.exit(0);
    const failure = explain(err, context);
    console.error(`error: ${failure.message}`);
    if (failure.hint) console.error(`hint: ${failure.hint}`);
    if (argv.includes('--debug')) {
      console.error((err as Error).stack ?? String(err));
      if (err instanceof DeployError) console.error(err.outputTail);
    }
    process.exit(failure.exitCode);
  }
}

if (require.main === module) void main();
