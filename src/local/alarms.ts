/**
 * CloudWatch alarms on the local cloud. moto skips `AWS::CloudWatch::Alarm` when it creates a stack and never
 * evaluates an alarm, so the runtime creates each alarm of the templates with PutMetricAlarm (every intrinsic
 * resolved by the {@link TemplateResolver}) and evaluates them on an interval from the metrics in moto,
 * moving them with SetAlarmState.
 *
 * Evaluation is a simplification of CloudWatch's: the window is exactly EvaluationPeriods periods aligned to
 * the period, the newest being the period in progress (so a breach shows within one interval, not after the
 * period ends), and CloudWatch's look-back beyond the window for missing data is not done. moto computes no
 * percentiles: an ExtendedStatistic `pNN` is evaluated on the period's Maximum, which equals pNN while a
 * period holds at most 100 / (100 - NN) samples (100 for p99) and is an upper bound beyond that. Metric-math
 * alarms are created, but evaluated only when they return a single metric without an expression (moto's
 * GetMetricData does not do metric math).
 */
import { readFileSync } from 'node:fs';
import {
  type CloudWatchClient,
  type ComparisonOperator,
  DescribeAlarmsCommand,
  type Dimension,
  GetMetricDataCommand,
  type MetricDataQuery,
  PutMetricAlarmCommand,
  type PutMetricAlarmInput,
  SetAlarmStateCommand,
  type StandardUnit,
} from '@aws-sdk/client-cloudwatch';
import {
  type DiscoveryClients,
  listStackResources,
  type RuntimeStack,
  type Template,
  TemplateResolver,
  UnresolvableValueError,
} from './discovery';
import { LOCAL_ACCOUNT } from './moto';

/** State of an alarm. */
export type AlarmState = 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';

/** How an alarm treats a period without data (CloudWatch's TreatMissingData). */
export type TreatMissingData = 'breaching' | 'notBreaching' | 'ignore' | 'missing';

/** The comparison operators the local evaluator knows (the static-threshold ones). */
export type ThresholdOperator =
  | 'GreaterThanOrEqualToThreshold'
  | 'GreaterThanThreshold'
  | 'LessThanThreshold'
  | 'LessThanOrEqualToThreshold';

const THRESHOLD_OPERATORS: readonly string[] = [
  'GreaterThanOrEqualToThreshold',
  'GreaterThanThreshold',
  'LessThanThreshold',
  'LessThanOrEqualToThreshold',
];
const TREAT_MISSING: readonly string[] = ['breaching', 'notBreaching', 'ignore', 'missing'];
/** GetMetricData takes at most this many queries a call. */
const MAX_QUERIES_PER_CALL = 500;

/** What decides an alarm's state from its datapoints. */
export interface AlarmRule {
  readonly threshold: number;
  readonly comparisonOperator: ThresholdOperator;
  /** N: how many periods the window holds. */
  readonly evaluationPeriods: number;
  /** M: breaching periods (of N) that put the alarm in ALARM. */
  readonly datapointsToAlarm: number;
  readonly treatMissingData: TreatMissingData;
}

/** The outcome of one evaluation. */
export interface AlarmEvaluation {
  readonly state: AlarmState;
  /** Human-readable, like CloudWatch's StateReason. */
  readonly reason: string;
  /** Periods with data, and how many of them breach. */
  readonly present: number;
  readonly breaching: number;
}

/** Whether `value` breaches `threshold` under `operator`. */
export function breaches(operator: ThresholdOperator, value: number, threshold: number): boolean {
  switch (operator) {
    case 'GreaterThanOrEqualToThreshold':
      return value >= threshold;
    case 'GreaterThanThreshold':
      return value > threshold;
    case 'LessThanThreshold':
      return value < threshold;
    case 'LessThanOrEqualToThreshold':
      return value <= threshold;
  }
}

/**
 * The state an alarm should be in, given the value of each period of its window (oldest first; undefined: no
 * data) and its current state. Missing periods count as breaching (`breaching`) or not (`notBreaching`);
 * with `missing` and `ignore` only periods with data count: a window without data is INSUFFICIENT_DATA
 * (`missing`) or keeps the state (`ignore`), and when fewer periods than DatapointsToAlarm have data, the alarm
 * goes to ALARM if all of them breach (`ignore` keeps the state then), as CloudWatch documents.
 */
export function evaluateAlarm(
  rule: AlarmRule,
  datapoints: readonly (number | undefined)[],
  current: AlarmState,
): AlarmEvaluation {
  const window = datapoints.slice(-rule.evaluationPeriods);
  const values = window.filter((v): v is number => v !== undefined);
  const present = values.length;
  const missing = rule.evaluationPeriods - present;
  let breaching = values.filter((v) => breaches(rule.comparisonOperator, v, rule.threshold)).length;
  const m = rule.datapointsToAlarm;
  const summary = (): string =>
    `${breaching} of ${rule.evaluationPeriods} datapoints [${window.map((v) => v ?? '-').join(', ')}] ` +
    `breach ${rule.comparisonOperator} ${rule.threshold} (${m} needed, missing data: ${rule.treatMissingData})`;
  const result = (state: AlarmState, reason = `Threshold Crossed: ${summary()}`): AlarmEvaluation => ({
    state,
    reason,
    present,
    breaching,
  });

  if (rule.treatMissingData === 'breaching') breaching += missing;
  if (rule.treatMissingData === 'breaching' || rule.treatMissingData === 'notBreaching') {
    return result(breaching >= m ? 'ALARM' : 'OK');
  }
  if (present === 0) {
    return rule.treatMissingData === 'missing'
      ? result('INSUFFICIENT_DATA', `Insufficient Data: no datapoints in ${rule.evaluationPeriods} period(s)`)
      : result(current, `No datapoints in ${rule.evaluationPeriods} period(s); state kept (missing data: ignore)`);
  }
  if (present >= m) return result(breaching >= m ? 'ALARM' : 'OK');
  if (breaching < present) return result('OK');
  return rule.treatMissingData === 'missing'
    ? result('ALARM')
    : result(current, `Only ${present} datapoint(s), all breaching; state kept (missing data: ignore)`);
}

/** An alarm's property that cannot be turned into a PutMetricAlarm parameter. */
export class AlarmDefinitionError extends Error {
  constructor(
    readonly stackName: string,
    readonly logicalId: string,
    readonly property: string,
    detail: string,
  ) {
    super(`alarm ${stackName}/${logicalId}: property ${property}: ${detail}`);
    this.name = 'AlarmDefinitionError';
  }
}

/** What the evaluator reads for an alarm: one metric and statistic. */
export interface AlarmMetricQuery {
  readonly namespace: string;
  readonly metricName: string;
  readonly dimensions: Dimension[];
  readonly period: number;
  /** The statistic asked of moto (Maximum for a percentile: see the file comment). */
  readonly stat: string;
  readonly unit: string | undefined;
}

/** An AWS::CloudWatch::Alarm of a deployed stack, resolved. */
export interface AlarmInfo {
  readonly stackName: string;
  readonly region: string;
  readonly logicalId: string;
  readonly alarmName: string;
  /** The PutMetricAlarm parameters, every intrinsic resolved. */
  readonly input: PutMetricAlarmInput;
  /** How it is evaluated; undefined when the local evaluator cannot (with the reason in `notEvaluated`). */
  readonly rule: AlarmRule | undefined;
  readonly query: AlarmMetricQuery | undefined;
  readonly notEvaluated: string | undefined;
}

/** The alarms of one stack, and the alarms that could not be resolved (one error each). */
export interface AlarmDiscovery {
  readonly alarms: AlarmInfo[];
  readonly errors: AlarmDefinitionError[];
}

/** Reads a deployed stack's template and resolves each AWS::CloudWatch::Alarm in it. */
export async function discoverAlarms(stack: RuntimeStack, clients: DiscoveryClients): Promise<AlarmDiscovery> {
  const template = JSON.parse(readFileSync(stack.templatePath, 'utf8')) as Template;
  const alarmIds = Object.entries(template.Resources ?? {})
    .filter(([, r]) => r?.Type === 'AWS::CloudWatch::Alarm')
    .map(([id]) => id);
  if (alarmIds.length === 0) return { alarms: [], errors: [] };
  const physical = await listStackResources(clients.cloudFormation, stack.stackName);
  const resolver = new TemplateResolver(stack, template, physical, clients);
  const alarms: AlarmInfo[] = [];
  const errors: AlarmDefinitionError[] = [];
  for (const logicalId of alarmIds) {
    try {
      const props = template.Resources?.[logicalId]?.Properties ?? {};
      alarms.push(await resolveAlarm(stack, logicalId, props, resolver));
    } catch (err) {
      if (!(err instanceof AlarmDefinitionError)) throw err;
      errors.push(err);
    }
  }
  return { alarms, errors };
}

/**
 * Resolves an alarm's template properties into PutMetricAlarm parameters and its evaluation rule.
 * @throws AlarmDefinitionError naming the property that cannot be resolved or is invalid
 */
export async function resolveAlarm(
  stack: RuntimeStack,
  logicalId: string,
  props: Record<string, unknown>,
  resolver: Pick<TemplateResolver, 'resolve'>,
): Promise<AlarmInfo> {
  const fail = (property: string, detail: string): never => {
    throw new AlarmDefinitionError(stack.stackName, logicalId, property, detail);
  };
  const resolved: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(props)) {
    try {
      const v = await resolver.resolve(value);
      if (v !== undefined) resolved[key] = v;
    } catch (err) {
      if (!(err instanceof UnresolvableValueError)) throw err;
      fail(key, err.message);
    }
  }
  const num = (key: string, required: boolean): number | undefined => {
    const v = resolved[key];
    if (v === undefined) return required ? fail(key, 'is required') : undefined;
    // CloudFormation accepts numbers as strings ("60"), so both are read.
    const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : Number.NaN;
    return Number.isFinite(n) ? n : fail(key, `must be a number (given ${JSON.stringify(v)})`);
  };
  const str = (key: string): string | undefined => {
    const v = resolved[key];
    if (v === undefined) return undefined;
    return typeof v === 'string' ? v : fail(key, `must be a string (given ${JSON.stringify(v)})`);
  };
  const strings = (key: string): string[] | undefined => {
    const v = resolved[key];
    if (v === undefined) return undefined;
    return Array.isArray(v) && v.every((s) => typeof s === 'string')
      ? v
      : fail(key, `must be a list of strings (given ${JSON.stringify(v)})`);
  };
  const bool = (key: string): boolean | undefined => {
    const v = resolved[key];
    return v === undefined ? undefined : v === true || String(v).toLowerCase() === 'true';
  };

  // CloudFormation names an unnamed alarm `<stack>-<logicalId>-<random suffix>`; locally it gets no suffix.
  const alarmName = str('AlarmName') ?? `${stack.stackName}-${logicalId}`;
  const comparisonOperator = str('ComparisonOperator') ?? fail('ComparisonOperator', 'is required');
  const evaluationPeriods = num('EvaluationPeriods', true)!;
  const metrics = resolved.Metrics as MetricDataQuery[] | undefined;
  if (metrics !== undefined && !Array.isArray(metrics)) fail('Metrics', 'must be a list of metric data queries');
  const metricName = str('MetricName');
  if (metricName === undefined && metrics === undefined) fail('MetricName', 'is required when Metrics is not given');
  const threshold = num('Threshold', str('ThresholdMetricId') === undefined);
  const treatMissingData = str('TreatMissingData');
  if (treatMissingData !== undefined && !TREAT_MISSING.includes(treatMissingData)) {
    fail('TreatMissingData', `must be one of ${TREAT_MISSING.join(', ')} (given ${treatMissingData})`);
  }
  const dimensions = resolved.Dimensions as Dimension[] | undefined;
  if (dimensions !== undefined && !Array.isArray(dimensions)) fail('Dimensions', 'must be a list of Name/Value');
  const tags = resolved.Tags as { Key: string; Value: string }[] | undefined;

  const input: PutMetricAlarmInput = {
    AlarmName: alarmName,
    AlarmDescription: str('AlarmDescription'),
    ActionsEnabled: bool('ActionsEnabled'),
    AlarmActions: strings('AlarmActions'),
    OKActions: strings('OKActions'),
    InsufficientDataActions: strings('InsufficientDataActions'),
    MetricName: metricName,
    Namespace: str('Namespace'),
    Statistic: str('Statistic') as PutMetricAlarmInput['Statistic'],
    ExtendedStatistic: str('ExtendedStatistic'),
    Dimensions: dimensions,
    Period: num('Period', false),
    Unit: str('Unit') as PutMetricAlarmInput['Unit'],
    EvaluationPeriods: evaluationPeriods,
    DatapointsToAlarm: num('DatapointsToAlarm', false),
    Threshold: threshold,
    ComparisonOperator: comparisonOperator as ComparisonOperator,
    TreatMissingData: treatMissingData,
    EvaluateLowSampleCountPercentile: str('EvaluateLowSampleCountPercentile'),
    Metrics: metrics,
    ThresholdMetricId: str('ThresholdMetricId'),
    Tags: tags,
  };
  for (const key of Object.keys(input) as (keyof PutMetricAlarmInput)[]) {
    if (input[key] === undefined) delete input[key];
  }

  let notEvaluated: string | undefined;
  let query: AlarmMetricQuery | undefined;
  if (!THRESHOLD_OPERATORS.includes(comparisonOperator) || threshold === undefined) {
    notEvaluated = `${comparisonOperator} (anomaly detection) is not evaluated locally`;
  } else if (metrics !== undefined) {
    const returned = metrics.filter((q) => q.ReturnData !== false);
    const stat = returned.length === 1 ? returned[0]?.MetricStat : undefined;
    if (stat?.Metric?.MetricName === undefined || stat.Metric.Namespace === undefined) {
      notEvaluated = 'metric math is not evaluated locally (moto does no metric math)';
    } else {
      query = {
        namespace: stat.Metric.Namespace,
        metricName: stat.Metric.MetricName,
        dimensions: stat.Metric.Dimensions ?? [],
        period: stat.Period ?? fail('Metrics', 'MetricStat.Period is required'),
        stat: localStat(stat.Stat ?? fail('Metrics', 'MetricStat.Stat is required')),
        unit: stat.Unit,
      };
    }
  } else {
    const statistic =
      input.Statistic ?? input.ExtendedStatistic ?? fail('Statistic', 'Statistic or ExtendedStatistic is required');
    query = {
      namespace: input.Namespace ?? fail('Namespace', 'is required with MetricName'),
      metricName: metricName!,
      dimensions: dimensions ?? [],
      period: input.Period ?? fail('Period', 'is required with MetricName'),
      stat: localStat(statistic),
      unit: input.Unit,
    };
  }
  const rule: AlarmRule | undefined =
    query === undefined
      ? undefined
      : {
          threshold: threshold!,
          comparisonOperator: comparisonOperator as ThresholdOperator,
          evaluationPeriods,
          datapointsToAlarm: input.DatapointsToAlarm ?? evaluationPeriods,
          // CloudWatch always ignores missing data of AWS/DynamoDB metrics.
          treatMissingData:
            query.namespace === 'AWS/DynamoDB' ? 'ignore' : ((treatMissingData ?? 'missing') as TreatMissingData),
        };
  return { stackName: stack.stackName, region: stack.region, logicalId, alarmName, input, rule, query, notEvaluated };
}

/** The statistic asked of moto: percentiles (pNN, pNN.N) become Maximum, which moto computes. */
function localStat(stat: string): string {
  return /^p\d/.test(stat) ? 'Maximum' : stat;
}

/** A state change of an alarm with SNS topics among the actions of its new state. */
export interface AlarmNotification {
  readonly alarm: AlarmInfo;
  readonly topicArns: string[];
  /** The message CloudWatch would publish (its JSON alarm notification). */
  readonly message: string;
  readonly subject: string;
}

/** A state change made by the evaluator. */
export interface AlarmTransition {
  readonly alarmName: string;
  readonly from: AlarmState;
  readonly to: AlarmState;
  readonly reason: string;
}

/** Options of {@link LocalAlarms}. */
export interface LocalAlarmsOptions {
  /** CloudWatch client of a region, pointed at the local cloud. */
  readonly cloudWatch: (region: string) => CloudWatchClient;
  /** Milliseconds between evaluations; 0 turns evaluation off (the alarms are still created). @default 10000 */
  readonly intervalMs?: number;
  /** Receives state changes and evaluation errors. @default - discarded */
  readonly log?: (line: string) => void;
  /**
   * Delivers a notification to the SNS topics of an alarm's actions.
   * @default - logs the notification, publishing nothing (LocalRuntime publishes it to the topics)
   */
  readonly notify?: (notification: AlarmNotification) => Promise<void>;
  /** The clock, in epoch milliseconds. @default Date.now */
  readonly now?: () => number;
}

/** Creates alarms in the local cloud and evaluates them on an interval. */
export class LocalAlarms {
  private readonly log: (line: string) => void;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;

  constructor(
    private readonly alarmInfos: readonly AlarmInfo[],
    private readonly opts: LocalAlarmsOptions,
  ) {
    this.log = opts.log ?? (() => undefined);
  }

  /** The alarms. */
  alarms(): AlarmInfo[] {
    return [...this.alarmInfos];
  }

  /**
   * PutMetricAlarm for every alarm, then SetAlarmState INSUFFICIENT_DATA, the state CloudWatch creates an alarm
   * in (moto starts alarms in OK), so the first evaluation makes the transition CloudWatch would.
   */
  async create(): Promise<void> {
    for (const alarm of this.alarmInfos) {
      const client = this.opts.cloudWatch(alarm.region);
      await client.send(new PutMetricAlarmCommand(alarm.input));
      await client.send(
        new SetAlarmStateCommand({
          AlarmName: alarm.alarmName,
          StateValue: 'INSUFFICIENT_DATA',
          StateReason: 'Unchecked: Initial alarm creation',
        }),
      );
      this.log(
        `[alarms] created ${alarm.alarmName} (${alarm.stackName}/${alarm.logicalId})` +
          (alarm.notEvaluated === undefined ? '' : `; not evaluated: ${alarm.notEvaluated}`),
      );
    }
  }

  /** Evaluates every `intervalMs` (one evaluation at a time) until stop(); does nothing when that is 0. */
  start(): void {
    const every = this.opts.intervalMs ?? 10_000;
    if (this.timer !== undefined || every <= 0 || !this.alarmInfos.some((a) => a.rule !== undefined)) return;
    this.timer = setInterval(() => {
      if (this.running !== undefined) return;
      this.running = this.evaluateOnce()
        .catch((err: Error) => this.log(`[alarms] evaluation failed: ${err.message}`))
        .finally(() => {
          this.running = undefined;
        });
    }, every);
  }

  /** Stops the interval and waits for an evaluation in progress. */
  async stop(): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** Evaluates every alarm once: reads its window from moto, and sets and notifies any state change. */
  async evaluateOnce(): Promise<AlarmTransition[]> {
    const transitions: AlarmTransition[] = [];
    const byRegion = new Map<string, AlarmInfo[]>();
    for (const alarm of this.alarmInfos) {
      if (alarm.rule === undefined) continue;
      byRegion.set(alarm.region, [...(byRegion.get(alarm.region) ?? []), alarm]);
    }
    for (const [region, alarms] of byRegion) {
      const client = this.opts.cloudWatch(region);
      const states = await this.currentStates(client, alarms);
      const windows = await this.windows(client, alarms);
      for (const alarm of alarms) {
        const current = states.get(alarm.alarmName);
        if (current === undefined) {
          this.log(`[alarms] ${alarm.alarmName} is gone from the local cloud; not evaluated`);
          continue;
        }
        const evaluation = evaluateAlarm(alarm.rule!, windows.get(alarm) ?? [], current);
        if (evaluation.state === current) continue;
        await client.send(
          new SetAlarmStateCommand({
            AlarmName: alarm.alarmName,
            StateValue: evaluation.state,
            StateReason: evaluation.reason,
          }),
        );
        transitions.push({
          alarmName: alarm.alarmName,
          from: current,
          to: evaluation.state,
          reason: evaluation.reason,
        });
        this.log(`[alarms] ${alarm.alarmName}: ${current} → ${evaluation.state} (${evaluation.reason})`);
        await this.notify(alarm, current, evaluation);
      }
    }
    return transitions;
  }

  private async currentStates(client: CloudWatchClient, alarms: AlarmInfo[]): Promise<Map<string, AlarmState>> {
    const states = new Map<string, AlarmState>();
    // DescribeAlarms takes at most 100 names a call.
    for (let i = 0; i < alarms.length; i += 100) {
      const names = alarms.slice(i, i + 100).map((a) => a.alarmName);
      const out = await client.send(new DescribeAlarmsCommand({ AlarmNames: names, MaxRecords: 100 }));
      for (const a of out.MetricAlarms ?? []) {
        if (a.AlarmName !== undefined) states.set(a.AlarmName, (a.StateValue ?? 'INSUFFICIENT_DATA') as AlarmState);
      }
    }
    return states;
  }

  /**
   * The value of each period of each alarm's window, oldest first (undefined: no data). Alarms with the same
   * period and window length share one GetMetricData call (up to 500 queries), which keeps the evaluator's
   * requests to the local cloud few: moto scans all its metric data for every call.
   */
  private async windows(
    client: CloudWatchClient,
    alarms: AlarmInfo[],
  ): Promise<Map<AlarmInfo, (number | undefined)[]>> {
    const groups = new Map<string, AlarmInfo[]>();
    for (const alarm of alarms) {
      const key = `${alarm.query!.period}|${alarm.rule!.evaluationPeriods}`;
      groups.set(key, [...(groups.get(key) ?? []), alarm]);
    }
    const windows = new Map<AlarmInfo, (number | undefined)[]>();
    const now = (this.opts.now ?? Date.now)();
    for (const group of groups.values()) {
      const n = group[0]!.rule!.evaluationPeriods;
      const periodMs = group[0]!.query!.period * 1000;
      // The window ends with the period in progress, so a breach shows within one interval.
      const current = Math.floor(now / periodMs) * periodMs;
      const start = current - (n - 1) * periodMs;
      for (let offset = 0; offset < group.length; offset += MAX_QUERIES_PER_CALL) {
        const chunk = group.slice(offset, offset + MAX_QUERIES_PER_CALL);
        const out = await client.send(
          new GetMetricDataCommand({
            StartTime: new Date(start),
            EndTime: new Date(current + periodMs),
            MetricDataQueries: chunk.map((alarm, i) => {
              const q = alarm.query!;
              return {
                Id: `q${i}`,
                MetricStat: {
                  Metric: { Namespace: q.namespace, MetricName: q.metricName, Dimensions: q.dimensions },
                  Period: q.period,
                  Stat: q.stat,
                  ...(q.unit !== undefined ? { Unit: q.unit as StandardUnit } : {}),
                },
              };
            }),
          }),
        );
        chunk.forEach((alarm, i) => {
          const result = out.MetricDataResults?.find((r) => r.Id === `q${i}`);
          const datapoints: (number | undefined)[] = new Array(n).fill(undefined);
          (result?.Timestamps ?? []).forEach((t, j) => {
            const index = Math.floor((t.getTime() - start) / periodMs);
            const value = result?.Values?.[j];
            if (index >= 0 && index < n && typeof value === 'number') datapoints[index] = value;
          });
          windows.set(alarm, datapoints);
        });
      }
    }
    return windows;
  }

  private async notify(alarm: AlarmInfo, from: AlarmState, evaluation: AlarmEvaluation): Promise<void> {
    const enabled = alarm.input.ActionsEnabled !== false;
    const actions =
      evaluation.state === 'ALARM'
        ? alarm.input.AlarmActions
        : evaluation.state === 'OK'
          ? alarm.input.OKActions
          : alarm.input.InsufficientDataActions;
    const topicArns = (actions ?? []).filter((a) => a.startsWith('arn:aws:sns:'));
    if (!enabled || topicArns.length === 0) return;
    const notification: AlarmNotification = {
      alarm,
      topicArns,
      subject: `${evaluation.state}: "${alarm.alarmName}" in ${alarm.region}`.slice(0, 100),
      message: alarmMessage(alarm, from, evaluation, new Date((this.opts.now ?? Date.now)())),
    };
    if (this.opts.notify !== undefined) {
      await this.opts.notify(notification);
      return;
    }
    this.log(
      `[alarms] ${alarm.alarmName}: would publish "${notification.subject}" to ${topicArns.join(', ')} ` +
        '(no notify function given)',
    );
  }
}

/** The JSON message CloudWatch publishes to an SNS topic for a state change (the fields that matter). */
export function alarmMessage(alarm: AlarmInfo, from: AlarmState, evaluation: AlarmEvaluation, at: Date): string {
  const input = alarm.input;
  return JSON.stringify({
    AlarmName: alarm.alarmName,
    AlarmDescription: input.AlarmDescription ?? null,
    AWSAccountId: LOCAL_ACCOUNT,
    AlarmConfigurationUpdatedTimestamp: at.toISOString(),
    NewStateValue: evaluation.state,
    NewStateReason: evaluation.reason,
    StateChangeTime: at.toISOString(),
    Region: alarm.region,
    AlarmArn: `arn:aws:cloudwatch:${alarm.region}:${LOCAL_ACCOUNT}:alarm:${alarm.alarmName}`,
    OldStateValue: from,
    Trigger: {
      MetricName: input.MetricName,
      Namespace: input.Namespace,
      StatisticType: input.ExtendedStatistic !== undefined ? 'ExtendedStatistic' : 'Statistic',
      Statistic: input.Statistic ?? input.ExtendedStatistic,
      Dimensions: (input.Dimensions ?? []).map((d) => ({ name: d.Name, value: d.Value })),
      Period: input.Period,
      EvaluationPeriods: input.EvaluationPeriods,
      DatapointsToAlarm: input.DatapointsToAlarm,
      ComparisonOperator: input.ComparisonOperator,
      Threshold: input.Threshold,
      TreatMissingData: input.TreatMissingData ?? 'missing',
      ...(input.Metrics !== undefined ? { Metrics: input.Metrics } : {}),
    },
  });
}

/** Options of {@link startLocalAlarms}. */
export interface StartLocalAlarmsOptions extends LocalAlarmsOptions {
  /** The deployed stacks (absolute template paths). */
  readonly stacks: readonly RuntimeStack[];
  /** Discovery clients of a region (for the resolver), pointed at the local cloud. */
  readonly clients: (region: string, account?: string) => DiscoveryClients;
  /** Receives each alarm that cannot be created, as a line naming the alarm and the property. */
  readonly onError: (line: string) => void;
}

/** Discovers the alarms of every stack, creates them in the local cloud and starts evaluating them. */
export async function startLocalAlarms(opts: StartLocalAlarmsOptions): Promise<LocalAlarms> {
  const discoveries = await Promise.all(opts.stacks.map((s) => discoverAlarms(s, opts.clients(s.region, s.account))));
  for (const error of discoveries.flatMap((d) => d.errors)) opts.onError(`${error.message} (alarm not created)`);
  const alarms = new LocalAlarms(
    discoveries.flatMap((d) => d.alarms),
    opts,
  );
  await alarms.create();
  alarms.start();
  return alarms;
}
