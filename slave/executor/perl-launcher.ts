/**
 * The perl task launcher helper: a small perl program (perl-base is Essential in Debian, so
 * every Debian/Ubuntu host has it) that forks, sets the child up and execs, and reports each
 * start and each exit on a pipe. Forking from a ~5 MB process costs a tenth of forking the
 * ~70 MB executor (see task-launcher.ts), and the executor's event loop no longer blocks on
 * it. helper-launcher.ts drives it; the native helper (native/agora-launcher.c), where it
 * was built, is cheaper still and speaks the same protocol.
 *
 * Protocol (shared by the two helpers and helper-launcher.ts only). Executor → helper on stdin, one request per launch:
 * `<byte length>\n` then the NUL-separated fields `id, file, argv0, cwd, make cwd (1/0),
 * stdout path, stderr path, argument count, arguments…, KEY=VALUE…`. Helper → executor on stdout, lines:
 * `R` (ready), `S <id> <pid>` (started: exec succeeded), `F <id> <errno> <step>: <text>`
 * (could not start; the failed child is reaped without an `X`), `X <pid> <code> <signal number>`
 * (ended, and its process group sent SIGKILL; code -1 when a signal ended it).
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
 * child, and exits when its stdin closes (the executor is gone). What happens when it dies
 * or cannot start is helper-launcher.ts's.
 *
 * @module
 */
import { helperEnvironment, type HelperProgram } from './helper-launcher.js';

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
    # What is left of the ended task's process group goes too (native helper: why here).
    kill('KILL', -$pid);
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

/** The perl helper as a {@link HelperProgram}; `perl` is the interpreter (default `perl` from PATH). */
export function perlHelper(perl = 'perl'): HelperProgram {
  return {
    name: 'perl',
    file: perl,
    args: ['-e', PERL_LAUNCHER_SCRIPT],
    env: helperEnvironment(),
  };
}
