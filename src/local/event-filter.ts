/**
 * Lambda event filtering (FilterCriteria of an event source mapping), the subset of EventBridge patterns
 * Lambda supports: exact values, null, `prefix`, `suffix`, `equals-ignore-case`, `anything-but`,
 * `exists`, `numeric` and `wildcard`, nested objects, and arrays matched element-wise.
 */

/** True when the record matches any pattern, or when there are no patterns. */
export function passesFilters(patterns: readonly unknown[], record: unknown): boolean {
  return patterns.length === 0 || patterns.some((pattern) => matchesPattern(pattern, record));
}

/**
 * The object an SQS message is matched as: `body` is the parsed JSON body when it is JSON (Lambda
 * filters JSON bodies by their fields), else the raw string.
 */
export function sqsFilterView(record: { body: string } & Record<string, unknown>): Record<string, unknown> {
  let body: unknown = record.body;
  try {
    body = JSON.parse(record.body);
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
  }
  return { ...record, body };
}

/** True when `value` matches one EventBridge-style pattern object. */
export function matchesPattern(pattern: unknown, value: unknown): boolean {
  if (pattern === null || typeof pattern !== 'object' || Array.isArray(pattern)) return false;
  for (const [key, sub] of Object.entries(pattern as Record<string, unknown>)) {
    const field = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
    if (Array.isArray(sub)) {
      if (!sub.some((rule) => matchesRule(rule, field))) return false;
    } else if (sub !== null && typeof sub === 'object') {
      // A missing parent still lets `exists: false` below it match.
      if (!matchesPattern(sub, field)) return false;
    } else {
      return false;
    }
  }
  return true;
}

function matchesRule(rule: unknown, field: unknown): boolean {
  if (rule === null || typeof rule !== 'object') {
    return Array.isArray(field) ? field.some((f) => f === rule) : field === rule;
  }
  const [operator, operand] = Object.entries(rule as Record<string, unknown>)[0] ?? [];
  if (operator === 'exists') return operand === true ? field !== undefined : field === undefined;
  if (field === undefined) return false;
  const values = Array.isArray(field) ? field : [field];
  return values.some((v) => matchesOperator(operator, operand, v));
}

function matchesOperator(operator: string | undefined, operand: unknown, v: unknown): boolean {
  switch (operator) {
    case 'prefix':
      return typeof v === 'string' && typeof operand === 'string' && v.startsWith(operand);
    case 'suffix':
      return typeof v === 'string' && typeof operand === 'string' && v.endsWith(operand);
    case 'equals-ignore-case':
      return typeof v === 'string' && typeof operand === 'string' && v.toLowerCase() === operand.toLowerCase();
    case 'wildcard':
      return typeof v === 'string' && typeof operand === 'string' && wildcard(operand).test(v);
    case 'anything-but': {
      if (Array.isArray(operand)) return !operand.includes(v);
      if (operand !== null && typeof operand === 'object') {
        const [inner, innerOperand] = Object.entries(operand as Record<string, unknown>)[0] ?? [];
        return !matchesOperator(inner, innerOperand, v);
      }
      return v !== operand;
    }
    case 'numeric':
      return typeof v === 'number' && numeric(operand as unknown[], v);
    default:
      return false;
  }
}

function numeric(conditions: unknown[], v: number): boolean {
  for (let i = 0; i + 1 < conditions.length; i += 2) {
    const limit = Number(conditions[i + 1]);
    const ok =
      conditions[i] === '<'
        ? v < limit
        : conditions[i] === '<='
          ? v <= limit
          : conditions[i] === '>'
            ? v > limit
            : conditions[i] === '>='
              ? v >= limit
              : conditions[i] === '='
                ? v === limit
                : false;
    if (!ok) return false;
  }
  return true;
}

function wildcard(pattern: string): RegExp {
  const escaped = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`);
}
