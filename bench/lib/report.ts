/**
 * The output of a bench: ONE JSON line of figures on stdout (what scripts and BENCHMARKS.md
 * read), and, when stdout is a terminal and `--json` was not given, a readable table after
 * it: every figure, and for those with a target the target and whether it was met.
 *
 * @module
 */

/** A target on one figure, named by its dotted path in `figures` (e.g. `latency_ms.p99`). */
export interface Target {
  figure: string;
  op: '>=' | '<=';
  value: number;
  unit?: string;
}

/** A target checked against the run's figures. `met` is undefined when the figure is missing. */
export interface TargetResult {
  figure: string;
  value: number | undefined;
  target: string;
  met: boolean | undefined;
}

/** The value at a dotted path of nested figures, if it is a number. */
export function figureAt(figures: Record<string, unknown>, path: string): number | undefined {
  let node: unknown = figures;
  for (const key of path.split('.')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return typeof node === 'number' && Number.isFinite(node) ? node : undefined;
}

export function checkTargets(figures: Record<string, unknown>, targets: readonly Target[]): TargetResult[] {
  return targets.map((t) => {
    const value = figureAt(figures, t.figure);
    const met = value === undefined ? undefined : t.op === '>=' ? value >= t.value : value <= t.value;
    return { figure: t.figure, value, target: `${t.op} ${t.value}${t.unit ? ` ${t.unit}` : ''}`, met };
  });
}

/** Nested figures as `[dotted path, printable value]` rows, arrays of scalars joined, one row per record of a list. */
export function flattenFigures(figures: Record<string, unknown>, prefix = ''): Array<[string, string]> {
  const rows: Array<[string, string]> = [];
  for (const [key, value] of Object.entries(figures)) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      rows.push(...flattenFigures(value as Record<string, unknown>, path));
    } else if (Array.isArray(value) && value.some((v) => v !== null && typeof v === 'object')) {
      // A list of records (e.g. the allocator's cells): one row per record, `key=value` pairs.
      value.forEach((v, i) => rows.push([`${path}.${i}`, v !== null && typeof v === 'object'
        ? Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k}=${typeof x === 'object' ? JSON.stringify(x) : String(x)}`).join(' ')
        : String(v)]));
    } else {
      rows.push([path, Array.isArray(value) ? value.join(', ') : String(value)]);
    }
  }
  return rows;
}

/** The readable table: figure | value | target | met? (targets first, then the other figures). */
export function renderTable(bench: string, figures: Record<string, unknown>, targets: readonly TargetResult[]): string {
  const byFigure = new Map(targets.map((t) => [t.figure, t]));
  const rows: string[][] = [['figure', 'value', 'target', 'met?']];
  for (const t of targets) rows.push([t.figure, t.value === undefined ? '—' : String(t.value), t.target, t.met === undefined ? '?' : t.met ? 'yes' : 'NO']);
  for (const [path, value] of flattenFigures(figures)) if (!byFigure.has(path)) rows.push([path, value, '', '']);
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]): string => r.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
  return [`${bench}:`, line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}
