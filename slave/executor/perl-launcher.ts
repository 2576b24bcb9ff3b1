/**
 * A long-lived helper process that starts task processes for the command executor: a small
 * perl program (perl-base is Essential in Debian, so every Debian/Ubuntu host has it) that
 * forks, sets the child up and execs, and reports each start and each exit on a pipe.
 * Forking from a ~5 MB process costs a tenth of forking the ~70 MB executor (see
 * task-launcher.ts), and the executor's event loop no longer blocks on it.
 *
 * Protocol (private to this file). Executor → helper on stdin, one request per launch:
 * `<byte length>\n` then the NUL-separated fields `id, file, argv0, cwd, make cwd (1/0),
 * stdout path, stderr path, argument count, arguments…, KEY=VALUE…`. Helper → executor on stdout, lines:
 * `R` (ready), `S <id> <pid>` (started: exec succeeded), `F <id> <errno> <step>: <text>`
 * (could not start; the failed child is reaped without an `X`), `X <pid> <code> <signal number>`
 * (ended; code -1 when a signal ended it).
 *
 * Launches run side by side: the helper forks at once for every request and watches each
 * child's close-on-exec pipe in one `select()` loop (EOF: the exec happened, `S`; bytes: the
 * errno and step that failed, `F`), so a child that is slow to set up (a sandbox on a busy
 * disk, a stdout FIFO nobody reads) holds back no other task. Exited children are reaped in
 * the same loop (SIGCHLD only interrupts `select`); a child reaped before its pipe was read
 * has its start reported first, so a task's `X` always follows its `S`. At most
 * `$MAX_STARTING` children are between fork and exec at once (select's fd limit); other
 * requests wait. Each loop turn's output leaves in one write.
 *
 * The helper ignores SIGTERM/SIGINT/SIGHUP/SIGQUIT (the slave signals the executor's whole
 * tree on shutdown, and the tasks' exits must still be reported), restores them in each
 * child, and exits when its stdin closes (the executor is gone). If it dies anyway, launches
 * in flight fail, the tasks it started are watched by polling their pids (their status is
 * then unknown), and the next launch starts a new helper. If perl cannot be started at all,
 * every launch goes to the fallback launcher (Node's spawn).
 *
 * @module
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import os from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import type { Clock, TimerHandle } from '../../sdk/core/clock.js';
import { AgoraError } from '../../sdk/core/errors.js';
import type { Logger } from '../../sdk/core/log.js';
import { readProcessIdentity } from '../process-tree.js';
import type { TaskLauncher, TaskProcess, TaskProcessExit, TaskProcessSpec } from './task-launcher.js';

/** The helper program (run as `perl -e`). */
export const PERL_LAUNCHER_SCRIPT = String.raw`
use strict; use warnings; use POSIX ();
my @held = qw(TERM INT HUP QUIT PIPE);
$SIG{$_} = 'IGNORE' for @held;
# A handler that does nothing: SIGCHLD only interrupts select(); the loop reaps.
$SIG{CHLD} = sub {};
my $MAX_STARTING = 256;
# Children between fork and exec (by the fd of their exec-report pipe), pid → that fd,
# started children, failed starts not reaped yet, and requests waiting for a slot.
my (%starting, %pid_fd, %running, %failed, @queue);
my ($in, $out) = ('', '');
sub started {
  my ($fd) = @_;
  my $s = delete $starting{$fd};
  delete $pid_fd{$s->{pid}};
  my $r = $s->{r};
  while (1) {
    my $n = sysread($r, $s->{msg}, 512, length $s->{msg});
    if (!defined $n) { next if $!{EINTR}; last; }
    last if $n == 0;
  }
  close $r;
  if ($s->{msg} eq '') { $out .= "S $s->{id} $s->{pid}\n"; $running{$s->{pid}} = 1; return 1; }
  $out .= "F $s->{id} $s->{msg}\n";
  $failed{$s->{pid}} = 1;
  return 0;
}
sub reap {
  while ((my $pid = waitpid(-1, POSIX::WNOHANG())) > 0) {
    my $st = $?;
    my $fd = $pid_fd{$pid};
    # Its start is reported first (the pipe is at EOF: the child is gone); a failed start has no X.
    started($fd) if defined $fd;
    next if delete $failed{$pid};
    delete $running{$pid};
    $out .= ($st & 127) ? "X $pid -1 " . ($st & 127) . "\n" : "X $pid " . ($st >> 8) . " 0\n";
  }
}
sub launch {
  my ($id, $file, $argv0, $cwd, $mkcwd, $stdout, $stderr, $nargs, @rest) = @_;
  my @args = splice(@rest, 0, $nargs);
  my ($r, $w);
  my $pid = pipe($r, $w) ? fork() : undef;
  if (!defined $pid) {
    $out .= "F $id " . ($! + 0) . " fork: $!\n";
    close $r if defined $r; close $w if defined $w;
    return;
  }
  if ($pid == 0) {
    close $r;
    $SIG{$_} = 'DEFAULT' for (@held, 'CHLD');
    POSIX::sigprocmask(POSIX::SIG_SETMASK(), POSIX::SigSet->new);
    my $step;
    CHILD: {
      $step = 'setsid'; last CHILD unless defined POSIX::setsid();
      if ($mkcwd eq '1') {
        $step = 'mkdir';
        (my $parent = $cwd) =~ s{/[^/]+/*$}{};
        last CHILD unless $parent eq '' || -d $parent || mkdir($parent) || $!{EEXIST};
        last CHILD unless mkdir($cwd) || $!{EEXIST};
      }
      $step = 'chdir'; last CHILD unless chdir $cwd;
      $step = 'open stdin'; last CHILD unless open(STDIN, '<', '/dev/null');
      $step = 'open stdout'; last CHILD unless open(STDOUT, '>>', $stdout);
      $step = 'open stderr'; last CHILD unless open(STDERR, '>>', $stderr);
      %ENV = ();
      for my $kv (@rest) { my $i = index($kv, '='); $ENV{substr($kv, 0, $i)} = substr($kv, $i + 1) if $i > 0; }
      $step = 'exec';
      exec { $file } $argv0, @args;
    }
    syswrite($w, ($! + 0) . " $step: $!");
    POSIX::_exit(127);
  }
  close $w;
  $starting{fileno $r} = { r => $r, id => $id, pid => $pid, msg => '' };
  $pid_fd{$pid} = fileno $r;
}
sub flush_out {
  while (length $out) {
    my $n = syswrite(STDOUT, $out);
    if (!defined $n) { next if $!{EINTR}; exit 1; }
    substr($out, 0, $n, '');
  }
}
$out = "R\n";
my $eof = 0;
while (1) {
  while (@queue && keys(%starting) < $MAX_STARTING) { launch(@{shift @queue}); }
  reap();
  flush_out();
  exit 0 if $eof && !@queue && !%starting;
  my $rin = '';
  vec($rin, fileno(STDIN), 1) = 1 unless $eof;
  vec($rin, $_, 1) = 1 for keys %starting;
  my $n = select(my $rout = $rin, undef, undef, %running ? 0.5 : undef);
  next if $n <= 0;
  for my $fd (keys %starting) { started($fd) if vec($rout, $fd, 1); }
  next if $eof || !vec($rout, fileno(STDIN), 1);
  my $got = sysread(STDIN, $in, 65536, length $in);
  if (!defined $got) { next if $!{EINTR}; exit 1; }
  if ($got == 0) { $eof = 1; next; }
  while ((my $nl = index($in, "\n")) >= 0) {
    my $len = substr($in, 0, $nl);
    last if length($in) < $nl + 1 + $len;
    my $req = substr($in, $nl + 1, $len);
    substr($in, 0, $nl + 1 + $len, '');
    push @queue, [split(/\0/, $req, -1)];
  }
}
`;

/** How often the tasks of a helper that died are checked (their end is noticed within this). */
export const ORPHAN_POLL_MS = 250;

/** Errno numbers → names (`2` → `ENOENT`). */
const ERRNO_NAMES = new Map(Object.entries(os.constants.errno).map(([name, n]) => [n, name]));
/** Signal numbers → names (`15` → `SIGTERM`). */
const SIGNAL_NAMES = new Map(Object.entries(os.constants.signals).map(([name, n]) => [n, name as NodeJS.Signals]));

interface PendingLaunch {
  spec: TaskProcessSpec;
  resolve(p: TaskProcess): void;
  reject(e: Error): void;
}

interface Helper {
  child: ChildProcessByStdio<Writable, Readable, null>;
  ready: boolean;
  gone: boolean;
  /** Launches sent to this helper and not yet answered, by request id. */
  pending: Map<number, PendingLaunch>;
  /** Tasks it started that have not ended, by pid. */
  running: Map<number, (e: TaskProcessExit) => void>;
  /** Whether the helper's process and pipes hold the event loop now. */
  refd: boolean;
}

/** Options of {@link PerlTaskLauncher}. */
export interface PerlTaskLauncherOptions {
  clock: Clock;
  logger: Logger;
  /** Used for every launch once perl turns out not to start at all. */
  fallback: TaskLauncher;
  /** The perl program; default `perl` from PATH. */
  perl?: string;
}

/** Launches task processes through the perl helper (see the module comment). */
export class PerlTaskLauncher implements TaskLauncher {
  private helper: Helper | undefined;
  /** perl could not be started: everything goes to the fallback. */
  private unavailable = false;
  private nextId = 1;
  /** Tasks of dead helpers, watched by polling: pid → start time (clock ticks) and how to report the end. */
  private readonly orphans = new Map<number, { startTime: number | undefined; resolve(e: TaskProcessExit): void }>();
  private orphanPoll: TimerHandle | undefined;
  private closed = false;

  constructor(private readonly o: PerlTaskLauncherOptions) {}

  /** The helper's pid while one runs (tests kill it to check what follows). */
  get helperPid(): number | undefined {
    return this.helper?.gone === false ? this.helper.child.pid : undefined;
  }

  launch(spec: TaskProcessSpec): Promise<TaskProcess> {
    if (this.unavailable) return this.o.fallback.launch(spec);
    if (this.closed) return Promise.reject(new AgoraError('AGORA_TASK_LAUNCH_FAILED', 'the task launcher is closed'));
    const fields = [spec.file, spec.argv0, spec.cwd, spec.makeCwd === true ? '1' : '0', spec.stdoutPath, spec.stderrPath, String(spec.args.length), ...spec.args,
      ...Object.entries(spec.env).map(([k, v]) => `${k}=${v}`)];
    if (fields.some((f) => f.includes('\0'))) {
      return Promise.reject(new AgoraError('AGORA_TASK_LAUNCH_FAILED', `spawn ${spec.file}: arguments and environment must not contain NUL bytes`));
    }
    const helper = this.helper ?? this.startHelper();
    const id = this.nextId++;
    const payload = Buffer.from([String(id), ...fields].join('\0'), 'utf8');
    return new Promise<TaskProcess>((resolve, reject) => {
      helper.pending.set(id, { spec, resolve, reject });
      this.updateRef(helper);
      helper.child.stdin.write(Buffer.concat([Buffer.from(`${payload.length}\n`), payload]));
    });
  }

  close(): void {
    this.closed = true;
    this.orphanPoll?.cancel();
    this.orphanPoll = undefined;
    this.orphans.clear();
    const helper = this.helper;
    this.helper = undefined;
    if (helper !== undefined && !helper.gone) {
      // EOF ends the helper; its tasks are not touched (they lead their own sessions).
      helper.child.stdin.end();
      setRef(helper, false);
    }
    this.o.fallback.close();
  }

  private startHelper(): Helper {
    const child = spawn(this.o.perl ?? 'perl', ['-e', PERL_LAUNCHER_SCRIPT], {
      // A minimal environment: nothing like PERL5OPT from the task's world reaches it.
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const helper: Helper = { child, ready: false, gone: false, pending: new Map(), running: new Map(), refd: true };
    this.helper = helper;
    const decoder = new StringDecoder('utf8');
    let partial = '';
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + decoder.write(chunk)).split('\n');
      partial = lines.pop()!;
      for (const line of lines) this.onLine(helper, line);
    });
    child.stdin.on('error', () => undefined); // EPIPE when it died: 'close' below handles it
    child.once('error', (err) => this.helperGone(helper, err.message));
    child.once('close', (code, signal) => this.helperGone(helper, `exited with ${signal ?? `status ${code}`}`));
    return helper;
  }

  private onLine(helper: Helper, line: string): void {
    const [kind, a, b, ...rest] = line.split(' ');
    switch (kind) {
      case 'R':
        helper.ready = true;
        return;
      case 'S': {
        const launch = helper.pending.get(Number(a));
        if (launch === undefined) return;
        helper.pending.delete(Number(a));
        const pid = Number(b);
        const exited = new Promise<TaskProcessExit>((resolve) => helper.running.set(pid, resolve));
        this.updateRef(helper);
        launch.resolve({ pid, exited });
        return;
      }
      case 'F': {
        const launch = helper.pending.get(Number(a));
        if (launch === undefined) return;
        helper.pending.delete(Number(a));
        this.updateRef(helper);
        const errno = ERRNO_NAMES.get(Number(b)) ?? `errno ${b}`;
        launch.reject(new AgoraError('AGORA_TASK_LAUNCH_FAILED', `spawn ${launch.spec.file} ${errno} (${rest.join(' ')})`));
        return;
      }
      case 'X': {
        const pid = Number(a);
        const resolve = helper.running.get(pid);
        if (resolve === undefined) return;
        helper.running.delete(pid);
        this.updateRef(helper);
        const code = Number(b);
        const signal = Number(rest[0]);
        resolve(code >= 0 ? { code, signal: null } : { code: null, signal: SIGNAL_NAMES.get(signal) ?? null });
        return;
      }
      default:
        this.o.logger.warn({ line }, 'task launcher: unexpected output ignored');
    }
  }

  private helperGone(helper: Helper, why: string): void {
    if (helper.gone) return;
    helper.gone = true;
    if (this.helper === helper) this.helper = undefined;
    if (!helper.ready) {
      // perl never came up: nothing was started; the fallback does these and every later launch.
      this.unavailable = true;
      this.o.logger.warn({ reason: why }, 'perl task launcher unavailable; starting tasks with node instead');
      for (const p of helper.pending.values()) this.o.fallback.launch(p.spec).then(p.resolve, p.reject);
      helper.pending.clear();
      return;
    }
    if (this.closed) return;
    this.o.logger.warn({ reason: why, launching: helper.pending.size, running: helper.running.size }, 'task launcher died; a new one starts with the next task');
    for (const p of helper.pending.values()) {
      p.reject(new AgoraError('AGORA_TASK_LAUNCH_FAILED', `spawn ${p.spec.file}: the task launcher died (${why})`));
    }
    helper.pending.clear();
    for (const [pid, resolve] of helper.running) this.orphans.set(pid, { startTime: readProcessIdentity(pid)?.startTime, resolve });
    helper.running.clear();
    this.pollOrphans();
    if (this.orphans.size > 0 && this.orphanPoll === undefined) {
      this.orphanPoll = this.o.clock.setInterval(() => this.pollOrphans(), ORPHAN_POLL_MS);
    }
  }

  /** Orphaned tasks that are gone (pid free, zombie, or reused) end with an unknown status. */
  private pollOrphans(): void {
    for (const [pid, o] of this.orphans) {
      const now = readProcessIdentity(pid);
      if (now !== undefined && now.state !== 'Z' && now.state !== 'X' && (o.startTime === undefined || now.startTime === o.startTime)) continue;
      this.orphans.delete(pid);
      o.resolve({ code: null, signal: null });
    }
    if (this.orphans.size === 0) {
      this.orphanPoll?.cancel();
      this.orphanPoll = undefined;
    }
  }

  /**
   * The helper holds the event loop only while something waits on it. Only a change is
   * applied: this runs for every line, and ref/unref of three handles per line was a few
   * percent of the executor's CPU.
   */
  private updateRef(helper: Helper): void {
    if (helper.gone) return;
    const busy = helper.pending.size + helper.running.size > 0;
    if (busy === helper.refd) return;
    helper.refd = busy;
    setRef(helper, busy);
  }
}

/** Refs or unrefs the helper process and its pipes (net.Sockets under their stream types). */
function setRef(helper: Helper, on: boolean): void {
  const handles = [helper.child, helper.child.stdin, helper.child.stdout] as unknown as Array<{ ref?(): void; unref?(): void }>;
  for (const h of handles) {
    if (on) h.ref?.();
    else h.unref?.();
  }
}
