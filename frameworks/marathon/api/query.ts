/**
 * Query parameters as Marathon reads them: booleans (Jersey's `Boolean.valueOf`, so
 * `force=True`/`False` from Python clients work; we also take `1`/`0`), repeatable `embed`
 * parameters, and label selectors (api/v2/LabelSelectorParsers.scala).
 *
 * @module
 */
import type { Request } from 'express';
import { HttpError } from './errors.js';

/** All values of a query parameter, in order (`?embed=a&embed=b` → ['a','b']). */
export function queryValues(req: Request, name: string): string[] {
  const v = (req.query as Record<string, unknown>)[name];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.filter((x): x is string => typeof x === 'string');
}

/** The last value of a query parameter, or undefined. */
export function queryValue(req: Request, name: string): string | undefined {
  const all = queryValues(req, name);
  return all.length > 0 ? all[all.length - 1] : undefined;
}

/**
 * A boolean parameter with its default when absent: `true`/`True`/`TRUE`/`1` are true,
 * anything else false (Jersey: `Boolean.valueOf`, which is case-insensitive).
 */
export function parseBool(raw: string | undefined, defaultValue: boolean): boolean {
  if (raw === undefined) return defaultValue;
  const v = raw.trim().toLowerCase();
  return v === 'true' || v === '1';
}

/** `queryBool(req, 'force', false)`. */
export function queryBool(req: Request, name: string, defaultValue: boolean): boolean {
  return parseBool(queryValue(req, name), defaultValue);
}

/** `embed` values: repeatable, and comma-separated lists are split too. */
export function embedsOf(req: Request): Set<string> {
  const out = new Set<string>();
  for (const v of queryValues(req, 'embed')) for (const part of v.split(',')) if (part.trim() !== '') out.add(part.trim());
  return out;
}

/** What can be embedded in an app's JSON (AppInfo.Embed). */
export type AppEmbed = 'tasks' | 'counts' | 'deployments' | 'readiness' | 'lastTaskFailure' | 'taskStats';

/**
 * Resolves `apps.tasks`, `app.counts`, `group.apps.deployments`, … into app embeds
 * (InfoEmbedResolver). `failures` is the deprecated `lastTaskFailure` + `tasks`.
 */
export function resolveAppEmbeds(embeds: Iterable<string>, prefixes: readonly string[] = ['apps.', 'app.']): Set<AppEmbed> {
  const out = new Set<AppEmbed>();
  for (const e of embeds) {
    const prefix = prefixes.find((p) => e.startsWith(p));
    if (prefix === undefined) continue;
    const what = e.slice(prefix.length);
    switch (what) {
      case 'tasks': case 'counts': case 'deployments': case 'readiness': case 'lastTaskFailure': case 'taskStats':
        out.add(what);
        break;
      case 'failures':
        out.add('lastTaskFailure');
        out.add('tasks');
        break;
      default:
        break;
    }
  }
  return out;
}

/** One term of a label selector. */
export type LabelTerm =
  | { kind: 'exists'; key: string }
  | { kind: 'equals'; key: string; value: string }
  | { kind: 'notEquals'; key: string; value: string }
  | { kind: 'in'; key: string; values: string[] }
  | { kind: 'notIn'; key: string; values: string[] };

/** Splits on `sep` outside parentheses, honouring backslash escapes. */
function splitTop(s: string, sep: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[i + 1];
      i++;
      continue;
    }
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === sep && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  parts.push(cur);
  return parts;
}

const unescape = (s: string): string => s.trim().replace(/\\(.)/g, '$1');
const TERM_KEY = /^(?:\\.|[^\s=!(),\\])+$/;

/**
 * Parses `key==value,key!=value,key,key in (a,b),key notin (a,b)`. Throws a 422 in
 * Marathon's words when it cannot.
 */
export function parseLabelSelector(raw: string): LabelTerm[] {
  const fail = (reason: string): never => {
    throw new HttpError(422, { message: `Can not parse label selector ${raw}. Reason: ${reason}` });
  };
  const terms: LabelTerm[] = [];
  for (const part of splitTop(raw, ',')) {
    const t = part.trim();
    if (t === '') fail('empty selector');
    let m: RegExpExecArray | null;
    if ((m = /^(.+?)\s*(==|!=)\s*(.*)$/.exec(t)) !== null) {
      const key = m[1]!.trim();
      if (!TERM_KEY.test(key)) fail(`invalid label name '${key}'`);
      const value = unescape(m[3]!);
      terms.push(m[2] === '==' ? { kind: 'equals', key: unescape(key), value } : { kind: 'notEquals', key: unescape(key), value });
    } else if ((m = /^(.+?)\s+(in|notin)\s*\((.*)\)$/.exec(t)) !== null) {
      const key = m[1]!.trim();
      if (!TERM_KEY.test(key)) fail(`invalid label name '${key}'`);
      const values = splitTop(m[3]!, ',').map(unescape);
      terms.push(m[2] === 'in' ? { kind: 'in', key: unescape(key), values } : { kind: 'notIn', key: unescape(key), values });
    } else if (TERM_KEY.test(t)) {
      terms.push({ kind: 'exists', key: unescape(t) });
    } else {
      fail(`unexpected input '${t}'`);
    }
  }
  return terms;
}

/** Whether `labels` satisfy every term (a term on a missing label fails, except none). */
export function matchesLabels(terms: readonly LabelTerm[], labels: Record<string, string>): boolean {
  return terms.every((term) => {
    const has = Object.prototype.hasOwnProperty.call(labels, term.key);
    const v = labels[term.key];
    switch (term.kind) {
      case 'exists': return has;
      case 'equals': return has && v === term.value;
      case 'notEquals': return has && v !== term.value;
      case 'in': return has && term.values.includes(v!);
      case 'notIn': return has && !term.values.includes(v!);
    }
  });
}
