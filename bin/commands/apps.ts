/**
 * `agora apps`: a small Marathon client over the v2 REST API (works against Agora's
 * Marathon and against Marathon itself).
 *
 *   agora apps list | show ID | create -f app.json|app.yaml | scale ID N | restart ID |
 *              delete ID | tasks ID | deployments | events   [--marathon URL]
 *
 * create/scale/restart/delete follow the deployment they start with a one-line progress
 * bar on stderr (instances running of the target, current step) until Marathon reports
 * `deployment_success` (exit 0) or `deployment_failed` (exit 1); `--no-wait` returns at
 * once. The event stream is opened before the change, so no event can be missed; if the
 * stream drops, /v2/deployments is polled instead.
 *
 * @module
 */
import fs from 'node:fs';
import { Command, Option } from 'commander';
import { durationOption } from '../cli-support.js';

/** Default Marathon URL (or $MARATHON_URL). */
export const DEFAULT_MARATHON_URL = 'http://127.0.0.1:8080';
/** How often the progress is refreshed while a deployment runs. */
const POLL_INTERVAL_MS = 500;

interface CommonFlags {
  marathon: string;
  json?: boolean;
}

interface ChangeFlags extends CommonFlags {
  force?: boolean;
  wait: boolean;
  timeout?: number;
}

/** A Marathon API error, with the status and Marathon's message/details. */
export class MarathonApiError extends Error {
  override name = 'MarathonApiError';
  constructor(readonly status: number, readonly body: unknown) {
    super(describeError(status, body));
  }
}

function describeError(status: number, body: unknown): string {
  const b = body as { message?: unknown; details?: unknown; deployments?: Array<{ id: string }> } | undefined;
  let msg = `HTTP ${status}`;
  if (b !== undefined && typeof b === 'object' && typeof b.message === 'string') msg += `: ${b.message}`;
  else if (typeof body === 'string' && body !== '') msg += `: ${body}`;
  if (b !== undefined && typeof b === 'object' && Array.isArray(b.details)) {
    for (const d of b.details as Array<{ path?: string; errors?: string[] }>) msg += `\n  ${d.path ?? ''}: ${(d.errors ?? []).join('; ')}`;
  } else if (b !== undefined && typeof b === 'object' && typeof b.details === 'string') {
    msg += ` (${b.details})`;
  }
  return msg;
}

/** The few calls the CLI makes. */
export class MarathonClient {
  constructor(readonly baseUrl: string) {}

  async request<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; headers: Headers; body: T }> {
    let res: Response;
    try {
      res = await fetch(this.baseUrl.replace(/\/$/, '') + path, {
        method,
        headers: { accept: 'application/json', ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new Error(`cannot reach Marathon at ${this.baseUrl}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`);
    }
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      // not JSON
    }
    if (res.status >= 400) throw new MarathonApiError(res.status, parsed);
    return { status: res.status, headers: res.headers, body: parsed as T };
  }

  /**
   * Opens /v2/events and calls `onEvent` for each event; resolves once the stream is
   * open (response headers received). `close()` ends it; `closed` settles when it ends.
   */
  async events(eventTypes: string[], onEvent: (type: string, data: any) => void): Promise<{ close(): void; closed: Promise<void> }> {
    const abort = new AbortController();
    const query = eventTypes.map((t) => `event_type=${encodeURIComponent(t)}`).join('&');
    const res = await fetch(`${this.baseUrl.replace(/\/$/, '')}/v2/events${query ? `?${query}` : ''}`, {
      headers: { accept: 'text/event-stream' },
      signal: abort.signal,
    });
    if (res.status !== 200 || res.body === null) throw new MarathonApiError(res.status, await res.text());
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    const closed = (async (): Promise<void> => {
      let buf = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buf += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
          let i: number;
          while ((i = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, i);
            buf = buf.slice(i + 2);
            let type = 'message';
            const data: string[] = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) type = line.slice(6).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
            }
            if (data.length === 0) continue;
            try {
              onEvent(type, JSON.parse(data.join('\n')));
            } catch {
              onEvent(type, data.join('\n'));
            }
          }
        }
      } catch {
        // aborted or dropped
      }
    })();
    return { close: () => abort.abort(), closed };
  }
}

/** One line of progress on a stream: redrawn in place on a TTY, printed when it changes otherwise. */
export class ProgressLine {
  private last = '';
  constructor(private readonly out: NodeJS.WriteStream | NodeJS.WritableStream = process.stderr) {}

  private get tty(): boolean {
    return Boolean((this.out as NodeJS.WriteStream).isTTY);
  }

  update(text: string): void {
    if (text === this.last) return;
    if (this.tty) {
      const width = (this.out as NodeJS.WriteStream).columns ?? 100;
      this.out.write(`\r${text.slice(0, width - 1).padEnd(Math.min(width - 1, Math.max(this.last.length, text.length)))}`);
    } else {
      this.out.write(`${text}\n`);
    }
    this.last = text;
  }

  done(text?: string): void {
    if (this.tty && this.last !== '') this.out.write('\r\x1b[K');
    if (text !== undefined) this.out.write(`${text}\n`);
    this.last = '';
  }
}

/** `[#########---------]` for `done` of `total`. */
export function bar(done: number, total: number, width = 20): string {
  const frac = total <= 0 ? 1 : Math.max(0, Math.min(1, done / total));
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'-'.repeat(width - full)}]`;
}

/** The outcome of following a deployment. */
export type DeploymentOutcome = { ok: true } | { ok: false; reason: string };

/**
 * Runs `change` (which starts a deployment and returns its id) and follows that deployment
 * to its end, drawing progress for `appId` (when given).
 */
export async function followDeployment(
  client: MarathonClient,
  change: () => Promise<string | undefined>,
  opts: { appId?: string; progress?: ProgressLine; timeoutMs?: number } = {},
): Promise<DeploymentOutcome> {
  const progress = opts.progress ?? new ProgressLine();
  const finished = new Map<string, DeploymentOutcome>();
  let wake: () => void = () => undefined;
  let stream: { close(): void; closed: Promise<void> } | undefined;
  try {
    stream = await client.events(['deployment_success', 'deployment_failed', 'deployment_step_success', 'deployment_step_failure'], (type, data) => {
      const id = typeof data?.id === 'string' ? data.id : data?.plan?.id;
      if (typeof id !== 'string') return;
      if (type === 'deployment_success') finished.set(id, { ok: true });
      if (type === 'deployment_failed') finished.set(id, { ok: false, reason: typeof data?.reason === 'string' ? data.reason : 'the deployment failed' });
      wake();
    });
  } catch {
    stream = undefined; // polling only
  }
  let streamOpen = stream !== undefined;
  void stream?.closed.then(() => {
    streamOpen = false;
  });
  try {
    const deploymentId = await change();
    if (deploymentId === undefined) return { ok: true };
    const deadline = opts.timeoutMs !== undefined ? Date.now() + opts.timeoutMs : undefined;
    let goneSince: number | undefined;
    for (;;) {
      const outcome = finished.get(deploymentId);
      if (outcome !== undefined) {
        progress.done();
        return outcome;
      }
      if (deadline !== undefined && Date.now() > deadline) {
        progress.done();
        return { ok: false, reason: `deployment ${deploymentId} still running after ${Math.round(opts.timeoutMs! / 1000)}s` };
      }
      const deployments = (await client.request<any[]>('GET', '/v2/deployments').catch(() => ({ body: undefined }))).body;
      const d = Array.isArray(deployments) ? deployments.find((x) => x.id === deploymentId) : undefined;
      if (Array.isArray(deployments) && d === undefined) {
        // Gone from the list: the event tells success from failure; without a stream (or if
        // it never comes) a vanished deployment counts as done.
        goneSince ??= Date.now();
        if (!streamOpen || Date.now() - goneSince > 3000) {
          progress.done();
          return { ok: true };
        }
      }
      let text = `deployment ${deploymentId.slice(0, 8)}`;
      if (d !== undefined) {
        const actions = (d.currentActions ?? []).map((a: { action: string; app: string }) => `${a.action} ${a.app}`).join(', ');
        text += ` step ${d.currentStep}/${d.totalSteps}${actions ? ` ${actions}` : ''}`;
      }
      if (opts.appId !== undefined) {
        const app = (await client.request<any>('GET', `/v2/apps${opts.appId}`).catch(() => ({ body: undefined }))).body?.app;
        if (app !== undefined) {
          const healthy = Array.isArray(app.healthChecks) && app.healthChecks.length > 0;
          const done = healthy ? app.tasksHealthy : app.tasksRunning;
          text = `${bar(done, app.instances)} ${done}/${app.instances} ${healthy ? 'healthy' : 'running'} · ${text}`;
        }
      }
      progress.update(text);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, POLL_INTERVAL_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    stream?.close();
  }
}

/** An app id as given on the command line (`web`, `/prod/web`) → absolute. */
export function appIdArg(raw: string): string {
  return `/${raw.split('/').filter((s) => s !== '').join('/')}`;
}

/** Reads an app definition from a JSON or YAML file (`-` for stdin). */
export async function readDefinition(file: string): Promise<unknown> {
  const text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  if (/\.ya?ml$/i.test(file)) {
    let YAML: { parse(s: string): unknown };
    try {
      YAML = (await import('yaml')) as unknown as { parse(s: string): unknown };
    } catch {
      throw new Error('reading YAML needs the "yaml" package (npm install yaml); or give a JSON file');
    }
    return YAML.parse(text);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

/** Prints rows as aligned columns. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

function marathonOption(): Option {
  return new Option('--marathon <url>', 'Marathon URL').default(process.env.MARATHON_URL ?? DEFAULT_MARATHON_URL);
}

/** Runs an action; API and usage errors print one message and exit 1. */
function run<A extends unknown[]>(fn: (...args: A) => Promise<number | void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      const code = await fn(...args);
      process.exitCode = typeof code === 'number' ? code : 0;
    } catch (err) {
      process.stderr.write(`agora apps: ${(err as Error).message}\n`);
      process.exitCode = 1;
    }
  };
}

function changeCommand(name: string, description: string): Command {
  return new Command(name)
    .description(description)
    .addOption(marathonOption())
    .option('--force', 'override deployments that lock the app (?force=true)')
    .option('--no-wait', 'return once the deployment has started')
    .option('--timeout <dur>', 'give up following the deployment after this long (exit 1)', durationOption)
    .option('--json', 'print Marathon\'s JSON answer');
}

/** Follows (or not) the deployment started by `start`, printing what happened. */
async function changeAndFollow(flags: ChangeFlags, start: (client: MarathonClient) => Promise<{ deploymentId?: string; body: unknown; summary: string }>, appId?: string): Promise<number> {
  const client = new MarathonClient(flags.marathon);
  let summary = '';
  let body: unknown;
  const change = async (): Promise<string | undefined> => {
    const r = await start(client);
    summary = r.summary;
    body = r.body;
    if (flags.json) process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    else process.stderr.write(`${summary}${r.deploymentId ? ` (deployment ${r.deploymentId})` : ''}\n`);
    return flags.wait ? r.deploymentId : undefined;
  };
  const outcome = await followDeployment(client, change, { ...(appId !== undefined ? { appId } : {}), ...(flags.timeout !== undefined ? { timeoutMs: flags.timeout } : {}) });
  if (!outcome.ok) {
    process.stderr.write(`agora apps: deployment failed: ${outcome.reason}\n`);
    return 1;
  }
  if (flags.wait) process.stderr.write('deployment finished\n');
  return 0;
}

const forceQuery = (flags: ChangeFlags): string => (flags.force ? '?force=true' : '');

/** `agora apps …`. */
export function appsCommand(): Command {
  const apps = new Command('apps').description('manage Marathon apps (list, show, create, scale, restart, delete, tasks, deployments, events)');

  apps.addCommand(new Command('list')
    .description('list apps with their instances and deployments')
    .addOption(marathonOption())
    .option('--json', 'print Marathon\'s JSON')
    .action(run(async (flags: CommonFlags) => {
      const { body } = await new MarathonClient(flags.marathon).request<{ apps: any[] }>('GET', '/v2/apps');
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        return;
      }
      process.stdout.write(table(['ID', 'RUNNING', 'HEALTHY', 'CPUS', 'MEM', 'DEPLOYING', 'CMD'], body.apps.map((a) => [
        a.id, `${a.tasksRunning}/${a.instances}`, a.healthChecks?.length ? `${a.tasksHealthy}/${a.instances}` : '-',
        String(a.cpus), String(a.mem), a.deployments?.length ? 'yes' : 'no', String(a.cmd ?? (a.args ?? []).join(' ')).slice(0, 60),
      ])));
    })));

  apps.addCommand(new Command('show')
    .description('print an app (with tasks, counts, deployments, last failure) as JSON')
    .argument('<id>')
    .addOption(marathonOption())
    .action(run(async (id: string, flags: CommonFlags) => {
      const { body } = await new MarathonClient(flags.marathon).request('GET', `/v2/apps${appIdArg(id)}`);
      process.stdout.write(`${JSON.stringify(body.app, null, 2)}\n`);
    })));

  apps.addCommand(changeCommand('create', 'create an app from a JSON or YAML definition and follow its deployment')
    .requiredOption('-f, --file <path>', 'app definition (.json, .yaml/.yml, or - for JSON on stdin)')
    .action(run(async (flags: ChangeFlags & { file: string }) => {
      const definition = await readDefinition(flags.file);
      const id = typeof (definition as { id?: unknown })?.id === 'string' ? appIdArg((definition as { id: string }).id) : undefined;
      return changeAndFollow(flags, async (client) => {
        const r = await client.request('POST', `/v2/apps${forceQuery(flags)}`, definition);
        return { deploymentId: r.headers.get('marathon-deployment-id') ?? r.body?.deployments?.[0]?.id, body: r.body, summary: `created ${r.body?.id ?? id}` };
      }, id);
    })));

  apps.addCommand(changeCommand('scale', 'set the number of instances of an app and follow the deployment')
    .argument('<id>')
    .argument('<instances>', 'instances', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`instances must be a whole number >= 0, got "${v}"`);
      return n;
    })
    .action(run(async (id: string, instances: number, flags: ChangeFlags) => {
      const appId = appIdArg(id);
      return changeAndFollow(flags, async (client) => {
        const r = await client.request('PUT', `/v2/apps${appId}${forceQuery(flags)}`, { instances });
        return { deploymentId: r.body?.deploymentId, body: r.body, summary: `scaling ${appId} to ${instances}` };
      }, appId);
    })));

  apps.addCommand(changeCommand('restart', 'restart all instances of an app (rolling, per its upgradeStrategy) and follow it')
    .argument('<id>')
    .action(run(async (id: string, flags: ChangeFlags) => {
      const appId = appIdArg(id);
      return changeAndFollow(flags, async (client) => {
        const r = await client.request('POST', `/v2/apps${appId}/restart${forceQuery(flags)}`);
        return { deploymentId: r.body?.deploymentId, body: r.body, summary: `restarting ${appId}` };
      }, appId);
    })));

  apps.addCommand(changeCommand('delete', 'destroy an app and follow the deployment')
    .argument('<id>')
    .action(run(async (id: string, flags: ChangeFlags) => {
      const appId = appIdArg(id);
      return changeAndFollow(flags, async (client) => {
        const r = await client.request('DELETE', `/v2/apps${appId}`);
        return { deploymentId: r.body?.deploymentId, body: r.body, summary: `deleting ${appId}` };
      });
    })));

  apps.addCommand(new Command('tasks')
    .description('list the tasks of an app')
    .argument('<id>')
    .addOption(marathonOption())
    .option('--json', 'print Marathon\'s JSON')
    .action(run(async (id: string, flags: CommonFlags) => {
      const { body } = await new MarathonClient(flags.marathon).request<{ tasks: any[] }>('GET', `/v2/apps${appIdArg(id)}/tasks`);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        return;
      }
      process.stdout.write(table(['TASK', 'HOST', 'PORTS', 'STATE', 'HEALTH', 'STARTED'], body.tasks.map((tk) => [
        tk.id, tk.host, (tk.ports ?? []).join(','), tk.state,
        tk.healthCheckResults === undefined ? '-' : tk.healthCheckResults.length === 0 ? 'unknown' : tk.healthCheckResults.every((h: { alive: boolean }) => h.alive) ? 'healthy' : 'unhealthy',
        tk.startedAt ?? '',
      ])));
    })));

  apps.addCommand(new Command('deployments')
    .description('list running deployments')
    .addOption(marathonOption())
    .option('--json', 'print Marathon\'s JSON')
    .action(run(async (flags: CommonFlags) => {
      const { body } = await new MarathonClient(flags.marathon).request<any[]>('GET', '/v2/deployments');
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
        return;
      }
      process.stdout.write(table(['ID', 'VERSION', 'STEP', 'APPS', 'CURRENT'], body.map((d) => [
        d.id, d.version, `${d.currentStep}/${d.totalSteps}`, (d.affectedApps ?? []).join(','),
        (d.currentActions ?? []).map((a: { action: string; app: string }) => `${a.action} ${a.app}`).join(', '),
      ])));
    })));

  apps.addCommand(new Command('events')
    .description('stream Marathon\'s events (one line per event: type and JSON) until interrupted')
    .addOption(marathonOption())
    .option('--event-type <type>', 'only this event type (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--json', 'print only the JSON of each event')
    .action(run(async (flags: CommonFlags & { eventType: string[] }) => {
      const client = new MarathonClient(flags.marathon);
      const stream = await client.events(flags.eventType, (type, data) => {
        process.stdout.write(flags.json ? `${JSON.stringify(data)}\n` : `${type} ${JSON.stringify(data)}\n`);
      });
      const stop = (): void => stream.close();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      await stream.closed;
      return 0;
    })));

  return apps;
}
