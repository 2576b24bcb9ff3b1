/**
 * A small reader for untrusted JSON that reports errors the way Marathon's Play JSON readers
 * (generated from its RAML) do: `{"path":"/cpus","errors":["error.expected.jsnumber"]}`,
 * with Play's path syntax (`/healthChecks(0)/portIndex`, `/env/FOO`).
 *
 * `null` counts as absent, as Play's `validateOpt` does.
 *
 * @module
 */

/** One error detail, as Marathon's 422 bodies list them. */
export interface ErrorDetail {
  path: string;
  errors: string[];
}

/** A JSON object as read from the wire. */
export type JsonObject = Record<string, unknown>;

/** Collects errors under paths; merges errors that share a path (Marathon groups them). */
export class ErrorCollector {
  private readonly byPath = new Map<string, string[]>();

  add(path: string, error: string): void {
    const list = this.byPath.get(path);
    if (list) {
      if (!list.includes(error)) list.push(error);
    } else this.byPath.set(path, [error]);
  }

  addAll(details: readonly ErrorDetail[]): void {
    for (const d of details) for (const e of d.errors) this.add(d.path, e);
  }

  get empty(): boolean {
    return this.byPath.size === 0;
  }

  details(): ErrorDetail[] {
    return [...this.byPath].map(([path, errors]) => ({ path, errors }));
  }
}

/** Play's JsPath rendering: keys as `/key`, indices as `(i)`. */
export function childPath(path: string, key: string | number): string {
  return typeof key === 'number' ? `${path}(${key})` : `${path}/${key}`;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Bounds checked after the type (RAML `minimum`/`maximum` → `error.min`/`error.max`). */
export interface NumberBounds {
  min?: number;
  max?: number;
}

/**
 * Typed accessors over one JSON object, each recording a Play-style error and returning
 * undefined when the value has the wrong type.
 */
export class ObjectReader {
  constructor(
    readonly obj: JsonObject,
    readonly path: string,
    readonly errors: ErrorCollector,
  ) {}

  /** True when the key is present with a non-null value. */
  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  raw(key: string): unknown {
    const v = this.obj[key];
    return v === null ? undefined : v;
  }

  at(key: string): string {
    return childPath(this.path, key);
  }

  string(key: string, opts: { minLength?: number; pattern?: RegExp } = {}): string | undefined {
    return readString(this.raw(key), this.at(key), this.errors, opts);
  }

  number(key: string, bounds: NumberBounds = {}): number | undefined {
    return readNumber(this.raw(key), this.at(key), this.errors, bounds);
  }

  int(key: string, bounds: NumberBounds = {}): number | undefined {
    return readInt(this.raw(key), this.at(key), this.errors, bounds);
  }

  bool(key: string): boolean | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'boolean') {
      this.errors.add(this.at(key), 'error.expected.jsboolean');
      return undefined;
    }
    return v;
  }

  enumOf<T extends string>(key: string, values: readonly T[]): T | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      this.errors.add(this.at(key), 'error.expected.jsstring');
      return undefined;
    }
    if (!values.includes(v as T)) {
      this.errors.add(this.at(key), 'error.unknown.enum.literal');
      return undefined;
    }
    return v as T;
  }

  object(key: string): ObjectReader | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (!isObject(v)) {
      this.errors.add(this.at(key), 'error.expected.jsobject');
      return undefined;
    }
    return new ObjectReader(v, this.at(key), this.errors);
  }

  /** Reads an array, mapping each element with `item` (which records its own errors). */
  array<T>(key: string, item: (value: unknown, path: string) => T | undefined): T[] | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    return readArray(v, this.at(key), this.errors, item);
  }

  /** Reads `{key: string}` maps (labels). */
  stringMap(key: string): Record<string, string> | undefined {
    const o = this.object(key);
    if (!o) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(o.obj)) {
      const s = readString(v, o.at(k), this.errors);
      if (s !== undefined) out[k] = s;
    }
    return out;
  }
}

export function readArray<T>(
  v: unknown, path: string, errors: ErrorCollector, item: (value: unknown, path: string) => T | undefined,
): T[] | undefined {
  if (!Array.isArray(v)) {
    errors.add(path, 'error.expected.jsarray');
    return undefined;
  }
  const out: T[] = [];
  let ok = true;
  v.forEach((el, i) => {
    const r = item(el, childPath(path, i));
    if (r === undefined) ok = false;
    else out.push(r);
  });
  return ok ? out : undefined;
}

export function readString(
  v: unknown, path: string, errors: ErrorCollector, opts: { minLength?: number; pattern?: RegExp } = {},
): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') {
    errors.add(path, 'error.expected.jsstring');
    return undefined;
  }
  if (opts.minLength !== undefined && v.length < opts.minLength) {
    errors.add(path, 'error.minLength');
    return undefined;
  }
  if (opts.pattern && !opts.pattern.test(v)) {
    errors.add(path, 'error.pattern');
    return undefined;
  }
  return v;
}

export function readNumber(v: unknown, path: string, errors: ErrorCollector, bounds: NumberBounds = {}): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    errors.add(path, 'error.expected.jsnumber');
    return undefined;
  }
  return checkBounds(v, path, errors, bounds);
}

export function readInt(v: unknown, path: string, errors: ErrorCollector, bounds: NumberBounds = {}): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    errors.add(path, 'error.expected.jsnumber');
    return undefined;
  }
  if (!Number.isInteger(v) || Math.abs(v) > 2147483647) {
    errors.add(path, 'error.expected.int');
    return undefined;
  }
  return checkBounds(v, path, errors, bounds);
}

function checkBounds(v: number, path: string, errors: ErrorCollector, bounds: NumberBounds): number | undefined {
  if (bounds.min !== undefined && v < bounds.min) {
    errors.add(path, 'error.min');
    return undefined;
  }
  if (bounds.max !== undefined && v > bounds.max) {
    errors.add(path, 'error.max');
    return undefined;
  }
  return v;
}
