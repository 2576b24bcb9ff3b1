/**
 * `agora run`: runs one command as a task, like mesos-execute. Subscribes as a framework
 * (failover_timeout 0, so the master kills the task if this process dies), launches the
 * command on the first offer that fits, declines the others, streams the task's
 * stdout/stderr from its sandbox through the slave's `/files/read`, and exits with the
 * task's exit code.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { Command, Option } from 'commander';
import { pino, type Logger } from 'pino';
import type { Offer, TaskState, TaskStatus } from '../../sdk/protocol/index.js';
import { systemClock, type Clock, type TimerHandle } from '../../sdk/core/clock.js';
import { collect, durationOption, masterOrZkOption, positiveNumberOption } from '../cli-support.js';

interface RunFlags {
  master: string;
  cpus: number;
  mem: number;
  name: string;
  env: string[];
  timeout?: number;
  user?: string;
  role?: string;
}

/** Terminal states after which the task's sandbox holds output worth draining. */
const SANDBOX_STATES: ReadonlySet<TaskState> = new Set<TaskState>(['TASK_FINISHED', 'TASK_FAILED', 'TASK_KILLED']);
/** How often the sandbox files are polled while the task runs. */
const POLL_INTERVAL_MS = 200;
/** Bytes asked per /files/read request. */
const READ_CHUNK = 64 * 1024;
/** How long to wait for SUBSCRIBED. */
const SUBSCRIBE_TIMEOUT_MS = 30_000;
/** After a kill (timeout, Ctrl-C), how long to wait for the task's terminal update. */
const KILL_WAIT_MS = 15_000;
/** How long to keep trying to resubscribe after losing the master before giving up. */
const MASTER_LOST_TIMEOUT_MS = 30_000;
/** Attempts to find the sandbox of a task that already ended, one poll interval apart. */
const FIND_SANDBOX_ATTEMPTS = 25;

export function runCommand(): Command {
  return new Command('run')
    .description('run one command as a task on the cluster (like mesos-execute), stream its output, exit with its exit code')
    .requiredOption('--master <host:port|zk://host:port/path>', 'the master, or the ZooKeeper URL where the masters elect a leader', masterOrZkOption)
    .addOption(new Option('--cpus <n>', 'cpus for the task').default(0.1).argParser(positiveNumberOption))
    .addOption(new Option('--mem <mb>', 'memory (MB) for the task').default(32).argParser(positiveNumberOption))
    .option('--name <name>', 'task (and framework) name', 'agora-run')
    .option('--env <K=V>', 'environment variable for the task (repeatable)', collect, [])
    .option('--timeout <dur>', 'kill the task and exit 124 if it has not ended within this duration', durationOption)
    .option('--user <user>', 'FrameworkInfo.user (default: the current user)')
    .option('--role <role>', 'role to subscribe with (default: *)')
    .argument('<command...>', 'the command, run with sh -c (put it after --); one argument is taken as a shell command line, several are quoted and joined')
    .passThroughOptions()
    .action(async (command: string[], flags: RunFlags) => {
      const env: Record<string, string> = {};
      for (const kv of flags.env) {
        const eq = kv.indexOf('=');
        if (eq <= 0) {
          process.stderr.write(`agora run: --env expects K=V, got "${kv}"\n`);
          process.exitCode = 1;
          return;
        }
        env[kv.slice(0, eq)] = kv.slice(eq + 1);
      }
      const code = await runTask({ ...flags, command: shellCommandLine(command), env });
      await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
      process.exit(code);
    });
}

export interface RunTaskOptions {
  master: string;
  command: string;
  cpus: number;
  mem: number;
  name: string;
  env: Record<string, string>;
  timeout?: number;
  user?: string;
  role?: string;
  clock?: Clock;
  logger?: Logger;
  out?: NodeJS.WritableStream;
  err?: NodeJS.WritableStream;
}

type Outcome = { kind: 'status'; status: TaskStatus } | { kind: 'error'; message: string; code: number };

/** Runs the task to its end and returns the exit code for this process. */
export async function runTask(o: RunTaskOptions): Promise<number> {
  const clock = o.clock ?? systemClock;
  const out = o.out ?? process.stdout;
  const err = o.err ?? process.stderr;
  // Our stdout is the task's stdout: the SDK's logs go to stderr, errors only by default
  // (what matters is printed as plain text below).
  const logger = o.logger ?? pino({ name: 'agora-run', level: process.env.AGORA_RUN_LOG_LEVEL ?? 'error' }, pino.destination(2));
  const taskId = `${o.name}-${randomUUID().slice(0, 8)}`;
  /** The master for messages (a zk:// URL without its credentials). */
  const shownMaster = o.master.replace(/^(zk:\/\/)[^@/]*@/i, '$1***@');
  // Loaded here so that the other subcommands do not pay for the SDK.
  const { Scheduler, commandTask, isTerminalState, matchOffer } = await import('../../sdk/scheduler/index.js');
  const scheduler = new Scheduler({
    master: o.master,
    frameworkInfo: {
      user: o.user ?? os.userInfo().username,
      name: o.name,
      failover_timeout: 0,
      ...(o.role !== undefined ? { roles: [o.role], capabilities: [{ type: 'MULTI_ROLE' }] } : {}),
    },
    logger,
    clock,
  });

  let launchedOn: { agentId: string; slaveUrl: string } | undefined;
  let lastState: TaskState | undefined;
  let warnedNoFit = false;
  let finish: (o: Outcome) => void = () => undefined;
  const ended = new Promise<Outcome>((resolve) => {
    finish = resolve;
  });
  let terminal: TaskStatus | undefined;
  let onTerminal: () => void = () => undefined;
  const terminalSeen = new Promise<void>((resolve) => {
    onTerminal = resolve;
  });

  scheduler.on('OFFERS', async (offers: Offer[]) => {
    const decline: string[] = [];
    for (const offer of offers) {
      if (launchedOn === undefined) {
        const resources = matchOffer(offer, { cpus: o.cpus, mem: o.mem });
        if (resources !== undefined) {
          launchedOn = { agentId: offer.agent_id.value, slaveUrl: slaveUrlOf(offer) };
          const task = commandTask({
            taskId,
            name: o.name,
            agentId: offer.agent_id.value,
            command: { value: o.command, shell: true, environment: o.env },
            resources,
          });
          try {
            await scheduler.launch([offer.id.value], [task]);
          } catch (e) {
            finish({ kind: 'error', message: `launch failed: ${(e as Error).message}`, code: 1 });
          }
          continue;
        }
      }
      decline.push(offer.id.value);
    }
    if (launchedOn === undefined && decline.length > 0 && !warnedNoFit) {
      warnedNoFit = true;
      err.write(`agora run: waiting for an offer with cpus:${o.cpus};mem:${o.mem}…\n`);
    }
    if (decline.length > 0) {
      // Once launched we want nothing more; before, look again soon.
      await scheduler.decline(decline, { refuse_seconds: launchedOn ? 3600 : 1 }).catch(() => undefined);
    }
    if (launchedOn !== undefined) await scheduler.suppress().catch(() => undefined);
  });

  scheduler.on('UPDATE', (status: TaskStatus) => {
    if (status.task_id.value !== taskId) return;
    lastState = status.state;
    if (isTerminalState(status.state) && terminal === undefined) {
      terminal = status;
      onTerminal();
    }
  });

  let masterLost: TimerHandle | undefined;
  scheduler.on('disconnected', ({ reason }: { reason: Error }) => {
    err.write(`agora run: lost the master (${reason.message}); reconnecting…\n`);
    masterLost ??= clock.setTimeout(() => finish({ kind: 'error', message: `could not reach the master again within ${MASTER_LOST_TIMEOUT_MS / 1000}s`, code: 1 }), MASTER_LOST_TIMEOUT_MS);
  });
  scheduler.on('reconnected', () => {
    err.write('agora run: reconnected to the master\n');
    masterLost?.cancel();
    masterLost = undefined;
  });

  scheduler.on('ERROR', (e: { message?: string } | undefined) => {
    finish({ kind: 'error', message: `the master reported an error: ${e?.message ?? 'unknown'}`, code: 1 });
  });

  // Bounds: --timeout, Ctrl-C.
  let interrupted: { code: number; message: string } | undefined;
  const interrupt = (code: number, message: string): void => {
    if (interrupted) return;
    interrupted = { code, message };
    err.write(`agora run: ${message}\n`);
    if (launchedOn === undefined || scheduler.state !== 'subscribed') {
      // Nothing launched, or no master to ask for the kill (failover_timeout 0: the master
      // kills the task itself once it sees this framework gone).
      finish({ kind: 'error', message, code });
      return;
    }
    scheduler.kill(taskId, launchedOn.agentId).catch(() => undefined);
    const t = clock.setTimeout(() => finish({ kind: 'error', message: `the task did not end within ${KILL_WAIT_MS / 1000}s of being killed`, code }), KILL_WAIT_MS);
    void terminalSeen.then(() => t.cancel());
  };
  const timeoutTimer = o.timeout !== undefined
    ? clock.setTimeout(() => interrupt(124, `timed out after ${o.timeout! / 1000}s; killing the task`), o.timeout)
    : undefined;
  const onSigint = (): void => interrupt(130, 'interrupted; killing the task');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);

  try {
    const subscribeTimer = clock.setTimeout(
      () => finish({ kind: 'error', message: `could not subscribe to the master at ${shownMaster} within ${SUBSCRIBE_TIMEOUT_MS / 1000}s`, code: 1 }),
      SUBSCRIBE_TIMEOUT_MS,
    );
    scheduler.start().then(
      () => subscribeTimer.cancel(),
      (e: unknown) => finish({ kind: 'error', message: `could not subscribe to the master at ${shownMaster}: ${(e as Error).message}`, code: 1 }),
    );

    // Stream the sandbox until the task ends, then drain what is left.
    const streaming = (async (): Promise<void> => {
      const files = new SandboxReader(taskId, out, err);
      for (;;) {
        const done = terminal !== undefined;
        if (launchedOn !== undefined && lastState !== undefined) {
          await files.poll(launchedOn.slaveUrl, () => scheduler.frameworkId).catch(() => undefined);
        }
        if (done) break;
        await Promise.race([sleep(clock, POLL_INTERVAL_MS), terminalSeen]);
      }
      // The task has ended: its files are complete. Find the sandbox if we never did, and read to the end.
      const ranOnSlave = SANDBOX_STATES.has(terminal!.state);
      for (let i = 0; i < FIND_SANDBOX_ATTEMPTS && ranOnSlave && launchedOn !== undefined && !(await files.drain(launchedOn.slaveUrl, () => scheduler.frameworkId)); i++) {
        await sleep(clock, POLL_INTERVAL_MS);
      }
      finish({ kind: 'status', status: terminal! });
    })();
    void streaming;

    const outcome = await ended;
    if (outcome.kind === 'error') {
      if (!interrupted || outcome.code !== interrupted.code) err.write(`agora run: ${outcome.message}\n`);
      return outcome.code;
    }
    if (interrupted) return interrupted.code;
    return exitCodeOf(outcome.status, err);
  } finally {
    timeoutTimer?.cancel();
    masterLost?.cancel();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await Promise.race([scheduler.teardown().catch(() => scheduler.stop()), sleep(clock, 5000)]);
  }
}

/**
 * The shell command line for `agora run -- ARGS…`: one argument is a command line already
 * (`agora run -- 'echo $HOME | wc -c'`); several are an argv, quoted where needed so that
 * `agora run -- sh -c 'exit 3'` runs exactly that.
 */
export function shellCommandLine(args: string[]): string {
  if (args.length === 1) return args[0]!;
  return args.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** The exit code a shell would give: the command's status, 128+N for signal N, 1 for anything else. */
export function exitCodeOf(status: TaskStatus, err: NodeJS.WritableStream): number {
  if (status.state === 'TASK_FINISHED') return 0;
  const message = status.message ?? '';
  const exited = /exited with status (\d+)/.exec(message);
  if (status.state === 'TASK_FAILED' && exited) return Number(exited[1]);
  const signalled = /terminated with signal (SIG[A-Z0-9]+)/.exec(message);
  if (signalled) {
    const n = os.constants.signals[signalled[1] as keyof typeof os.constants.signals];
    err.write(`agora run: ${status.state}: ${message}\n`);
    if (n !== undefined) return 128 + n;
  }
  err.write(`agora run: ${status.state}${status.reason ? ` (${status.reason})` : ''}${message ? `: ${message}` : ''}\n`);
  return 1;
}

/** The slave's HTTP base URL, from the offer (Mesos puts it in Offer.url). */
function slaveUrlOf(offer: Offer): string {
  const a = offer.url?.address;
  const host = a?.ip ?? a?.hostname ?? offer.hostname;
  const port = a?.port ?? 5051;
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/** Follows a task's stdout/stderr in its sandbox through the slave's /files/read. */
class SandboxReader {
  private sandbox?: string;
  private offsets = { stdout: 0, stderr: 0 };

  constructor(private readonly taskId: string, private readonly out: NodeJS.WritableStream, private readonly err: NodeJS.WritableStream) {}

  /** Reads whatever is new; returns false while the sandbox is unknown. */
  async poll(slaveUrl: string, frameworkId: () => string | undefined): Promise<boolean> {
    if (this.sandbox === undefined) {
      const fid = frameworkId();
      if (fid === undefined) return false;
      this.sandbox = await findTaskSandbox(slaveUrl, fid, this.taskId);
      if (this.sandbox === undefined) return false;
    }
    await this.pump(slaveUrl, 'stdout', this.out);
    await this.pump(slaveUrl, 'stderr', this.err);
    return true;
  }

  /** Like {@link poll}, never throwing; true once the files were read to their end. */
  async drain(slaveUrl: string, frameworkId: () => string | undefined): Promise<boolean> {
    try {
      return await this.poll(slaveUrl, frameworkId);
    } catch {
      return false;
    }
  }

  private async pump(slaveUrl: string, file: 'stdout' | 'stderr', sink: NodeJS.WritableStream): Promise<void> {
    // Bounded: at most 1 GiB per poll, then the next poll continues.
    for (let i = 0; i < 16384; i++) {
      const url = `${slaveUrl}/files/read?path=${encodeURIComponent(`${this.sandbox}/${file}`)}&offset=${this.offsets[file]}&length=${READ_CHUNK}`;
      const res = await fetch(url);
      if (res.status === 404) return; // not created yet
      if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
      const body = (await res.json()) as { data?: string; offset?: number };
      // The slave sends the bytes as a UTF-8 string: a character split by the page end
      // arrives as one U+FFFD. Leave it for the next read, which starts on its first byte.
      let text = body.data ?? '';
      if (text.endsWith('\uFFFD')) text = text.slice(0, -1);
      const data = Buffer.from(text, 'utf8');
      if (data.length === 0) return;
      this.offsets[file] += data.length;
      if (!sink.write(data)) await new Promise((resolve) => sink.once('drain', resolve));
      if (data.length < READ_CHUNK) return;
    }
  }
}

interface SlaveStateExecutor { id?: string; directory?: string; tasks?: Array<{ id?: string }>; queued_tasks?: Array<{ id?: string }>; completed_tasks?: Array<{ id?: string }> }
interface SlaveStateFramework { id?: string; executors?: SlaveStateExecutor[]; completed_executors?: SlaveStateExecutor[] }

/**
 * The task's sandbox: `<executor directory>/tasks/<taskId>` for tasks run by the command
 * executor, the executor's `directory` from the slave's `/state` (Mesos-shaped).
 */
async function findTaskSandbox(slaveUrl: string, frameworkId: string, taskId: string): Promise<string | undefined> {
  const res = await fetch(`${slaveUrl}/state`);
  if (!res.ok) return undefined;
  const state = (await res.json()) as { frameworks?: SlaveStateFramework[]; completed_frameworks?: SlaveStateFramework[] };
  const frameworks = [...(state.frameworks ?? []), ...(state.completed_frameworks ?? [])].filter((f) => f.id === frameworkId);
  for (const f of frameworks) {
    for (const e of [...(f.executors ?? []), ...(f.completed_executors ?? [])]) {
      const tasks = [...(e.tasks ?? []), ...(e.queued_tasks ?? []), ...(e.completed_tasks ?? [])];
      if (e.directory && tasks.some((t) => t.id === taskId)) return `${e.directory}/tasks/${taskId}`;
    }
  }
  return undefined;
}
