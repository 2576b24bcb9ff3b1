/*
 * agora-launcher: the command executor's native task launcher helper (built by
 * scripts/build-launcher.mjs into dist/slave/executor/agora-launcher; driven by
 * slave/executor/helper-launcher.ts). It speaks the perl helper's protocol
 * (slave/executor/perl-launcher.ts) and keeps its behaviour; what it changes is the cost.
 *
 * Why: the perl helper forks a ~5 MB process per task, and the child runs perl code (and
 * takes copy-on-write faults) until its exec. Here the usual launch opens the sandbox
 * directory and the output files in the helper, then starts the child with vfork(): the
 * child shares the helper's memory, so nothing is copied, and only makes the syscalls left
 * (setsid, fchdir, dup2, the signal reset, execve) before it execs. The helper is suspended
 * only until that exec, a few tens of microseconds.
 *
 * A launch whose output file would block its open (a FIFO nobody reads yet) cannot run under
 * vfork (the helper would wait with it): it is forked instead, the child opening the file
 * itself, and its start is learnt from its close-on-exec pipe in the poll loop, as the perl
 * helper does for every launch. So no launch holds back another.
 *
 * Protocol. Executor -> helper on stdin, one request per launch: "<byte length>\n" then the
 * NUL-separated fields id, file, argv0, cwd, make cwd (1/0), stdout path, stderr path,
 * argument count, arguments..., KEY=VALUE.... Helper -> executor on stdout, lines: "R"
 * (ready), "S <id> <pid>" (started: the exec succeeded), "F <id> <errno> <step>: <text>"
 * (could not start; the child is reaped without an "X"), "X <pid> <code> <signal>" (ended,
 * and its process group sent SIGKILL; code -1 when a signal ended it). A task's "X" always follows its "S". Each loop turn's
 * output leaves in one write.
 *
 * Signals: TERM, INT, HUP, QUIT and PIPE are ignored (the slave signals the executor's whole
 * tree on shutdown, and the tasks' exits must still be reported); every child gets the
 * default dispositions and an empty signal mask back. The helper exits when its stdin
 * closes and no launch is between fork and exec; its tasks lead their own sessions and are
 * not touched.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* Children between fork and exec at once (forked launches only); further ones wait. */
#define MAX_STARTING 256
/* Largest request accepted; a larger length ends the helper (the executor never sends one). */
#define MAX_REQUEST (64u << 20)

static const int HELD_SIGNALS[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE };
#define N_HELD (sizeof HELD_SIGNALS / sizeof HELD_SIGNALS[0])

/* ---- output, flushed once per loop turn ---- */

static char *out;
static size_t out_len, out_cap;

static void emit(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void emit(const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out + out_len, out_cap - out_len, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < out_cap - out_len) { out_len += (size_t)n; return; }
    size_t cap = out_cap * 2 > out_len + (size_t)n + 1 ? out_cap * 2 : out_len + (size_t)n + 1;
    char *grown = realloc(out, cap);
    if (grown == NULL) _exit(1);
    out = grown;
    out_cap = cap;
  }
}

static void flush_out(void) {
  size_t done = 0;
  while (done < out_len) {
    ssize_t n = write(STDOUT_FILENO, out + done, out_len - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      _exit(1); /* the executor is gone */
    }
    done += (size_t)n;
  }
  out_len = 0;
}

/* ---- one launch ---- */

struct launch {
  char **fields; /* every field, then NULL (envp points into it) */
  char *id, *file, *argv0, *cwd, *make_cwd, *stdout_path, *stderr_path;
  char **argv; /* argv0, arguments, NULL */
  char **envp; /* KEY=VALUE..., NULL */
};

/* What the child reports on its pipe when a step fails (the helper writes the text). */
struct failure {
  int err;
  const char *step;
};

/* Fields of a request (NUL-separated, `len` bytes at `req`, NUL-terminated); NULL when malformed. */
static struct launch *parse_request(char *req, size_t len) {
  size_t count = 1;
  for (size_t i = 0; i < len; i++) count += req[i] == '\0';
  char **f = malloc((count + 1) * sizeof *f);
  if (f == NULL) return NULL;
  size_t n = 0;
  for (char *p = req, *end = req + len; n < count; n++) {
    f[n] = p;
    char *z = memchr(p, '\0', (size_t)(end - p));
    p = z == NULL ? end : z + 1;
  }
  if (n < 8) { free(f); return NULL; }
  char *rest;
  unsigned long nargs = strtoul(f[7], &rest, 10);
  if (*rest != '\0' || nargs > n - 8) { free(f); return NULL; }
  struct launch *l = malloc(sizeof *l);
  char **argv = malloc((nargs + 2) * sizeof *argv);
  if (l == NULL || argv == NULL) { free(f); free(l); free(argv); return NULL; }
  *l = (struct launch){ f, f[0], f[1], f[2], f[3], f[4], f[5], f[6], argv, f + 8 + nargs };
  argv[0] = f[2];
  for (unsigned long i = 0; i < nargs; i++) argv[1 + i] = f[8 + i];
  argv[1 + nargs] = NULL;
  f[n] = NULL; /* ends envp */
  /* KEY=VALUE only, as the perl helper keeps them (a field without '=' or with an empty key is dropped). */
  char **w = l->envp;
  for (char **e = l->envp; *e != NULL; e++) {
    char *eq = strchr(*e, '=');
    if (eq != NULL && eq != *e) *w++ = *e;
  }
  *w = NULL;
  return l;
}

static void free_launch(struct launch *l) {
  free(l->fields);
  free(l->argv);
  free(l);
}

/* The value of PATH in envp, or the default execvp uses without one. */
static const char *path_of(char *const envp[]) {
  for (char *const *e = envp; *e != NULL; e++) if (strncmp(*e, "PATH=", 5) == 0) return *e + 5;
  return "/bin:/usr/bin";
}

/* execve, running a file without a #! line with /bin/sh as execvp does. Returns on failure. */
static void exec_file(const char *path, char *const argv[], char *const envp[]) {
  execve(path, argv, envp);
  if (errno != ENOEXEC) return;
  size_t argc = 0;
  while (argv[argc] != NULL) argc++;
  if (argc > 4096) { errno = ENOEXEC; return; }
  char *sh_argv[argc + 2];
  sh_argv[0] = (char *)"/bin/sh";
  sh_argv[1] = (char *)path;
  for (size_t i = 1; i <= argc; i++) sh_argv[i + 1] = argv[i];
  execve("/bin/sh", sh_argv, envp);
  errno = ENOEXEC;
}

/*
 * execvp with the PATH of the task's environment (perl's exec and libuv both search the
 * environment the program gets). Uses only the stack: it runs in a vfork child.
 */
static void exec_search(const char *file, char *const argv[], char *const envp[]) {
  if (strchr(file, '/') != NULL) { exec_file(file, argv, envp); return; }
  if (*file == '\0') { errno = ENOENT; return; }
  const char *p = path_of(envp);
  size_t flen = strlen(file);
  int denied = 0;
  for (;;) {
    const char *colon = strchrnul(p, ':');
    size_t dlen = (size_t)(colon - p);
    char buf[PATH_MAX];
    if (dlen + 1 + flen < sizeof buf) {
      if (dlen == 0) { memcpy(buf, file, flen + 1); }
      else { memcpy(buf, p, dlen); buf[dlen] = '/'; memcpy(buf + dlen + 1, file, flen + 1); }
      exec_file(buf, argv, envp);
      if (errno == EACCES) denied = 1;
      else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE && errno != ENODEV && errno != ETIMEDOUT) return;
    }
    if (*colon == '\0') break;
    p = colon + 1;
  }
  errno = denied ? EACCES : ENOENT;
}

/* dup2 that keeps `fd` when it already is `target`, and closes the original otherwise. */
static int move_fd(int fd, int target) {
  if (fd == target) return fcntl(fd, F_SETFD, 0);
  if (dup2(fd, target) < 0) return -1;
  close(fd);
  return 0;
}

/*
 * The child's side, under vfork or fork: new session, the task's directory and files,
 * default signals, exec. `out_fd`/`err_fd` are the output files opened by the helper, or -1
 * to open them here (a forked child, whose open may block). On failure the step and errno
 * go to `report` (a vfork child shares the helper's memory: it writes nothing else).
 */
static void run_child(const struct launch *l, int dir_fd, int out_fd, int err_fd, int report) {
  struct failure f = { 0, "setsid" };
  struct sigaction dfl = { 0 };
  dfl.sa_handler = SIG_DFL;
  for (size_t i = 0; i < N_HELD; i++) sigaction(HELD_SIGNALS[i], &dfl, NULL);
  sigaction(SIGCHLD, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  if (setsid() < 0) goto fail;
  f.step = "chdir";
  if (fchdir(dir_fd) < 0) goto fail;
  f.step = "open stdin";
  int in = open("/dev/null", O_RDONLY);
  if (in < 0 || move_fd(in, STDIN_FILENO) < 0) goto fail;
  f.step = "open stdout";
  if (out_fd < 0) out_fd = open(l->stdout_path, O_WRONLY | O_APPEND | O_CREAT, 0666);
  if (out_fd < 0 || move_fd(out_fd, STDOUT_FILENO) < 0) goto fail;
  f.step = "open stderr";
  if (err_fd < 0) err_fd = open(l->stderr_path, O_WRONLY | O_APPEND | O_CREAT, 0666);
  if (err_fd < 0 || move_fd(err_fd, STDERR_FILENO) < 0) goto fail;
  sigprocmask(SIG_SETMASK, &none, NULL);
  f.step = "exec";
  exec_search(l->file, l->argv, l->envp);
fail:
  f.err = errno;
  while (write(report, &f, sizeof f) < 0 && errno == EINTR) {}
  _exit(127);
}

/* ---- forked launches between fork and exec ---- */

struct starting {
  int fd; /* read end of the child's close-on-exec report pipe */
  pid_t pid;
  char *id;
  char buf[sizeof(struct failure)];
  size_t got;
};

static struct starting starting[MAX_STARTING];
static size_t n_starting;

/* Pids whose start failed: reaped without an "X". */
static pid_t *failed;
static size_t n_failed, cap_failed;

static void remember_failed(pid_t pid) {
  if (n_failed == cap_failed) {
    size_t cap = cap_failed == 0 ? 16 : cap_failed * 2;
    pid_t *grown = realloc(failed, cap * sizeof *grown);
    if (grown == NULL) _exit(1);
    failed = grown;
    cap_failed = cap;
  }
  failed[n_failed++] = pid;
}

static int forget_failed(pid_t pid) {
  for (size_t i = 0; i < n_failed; i++) {
    if (failed[i] == pid) { failed[i] = failed[--n_failed]; return 1; }
  }
  return 0;
}

static void report_failure(const char *id, const struct failure *f) {
  emit("F %s %d %s: %s\n", id, f->err, f->step, strerror(f->err));
}

/* Reads what a starting child's pipe holds; at EOF reports the start ("S") or failure ("F"). Returns 1 when done. */
static int read_starting(size_t i, int until_eof) {
  struct starting *s = &starting[i];
  for (;;) {
    ssize_t n = read(s->fd, s->buf + s->got, sizeof s->buf - s->got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN && !until_eof) return 0;
    if (n > 0) { s->got += (size_t)n; if (s->got < sizeof s->buf) continue; }
    break;
  }
  close(s->fd);
  if (s->got == sizeof s->buf) {
    struct failure f;
    memcpy(&f, s->buf, sizeof f);
    report_failure(s->id, &f);
    remember_failed(s->pid);
  } else {
    emit("S %s %d\n", s->id, (int)s->pid);
  }
  free(s->id);
  starting[i] = starting[--n_starting];
  return 1;
}

/* ---- requests ---- */

struct queued {
  char *req;
  size_t len;
  struct queued *next;
};
static struct queued *queue_head, *queue_tail;

/* Creates `cwd` and, when missing, its parent (as the perl helper: one level up, no more). */
static int make_dirs(const char *cwd) {
  if (mkdir(cwd, 0777) == 0 || errno == EEXIST) return 0;
  if (errno != ENOENT) return -1;
  char parent[PATH_MAX];
  size_t len = strlen(cwd);
  if (len >= sizeof parent) { errno = ENAMETOOLONG; return -1; }
  memcpy(parent, cwd, len + 1);
  while (len > 1 && parent[len - 1] == '/') parent[--len] = '\0';
  char *slash = strrchr(parent, '/');
  if (slash != NULL && slash != parent) {
    *slash = '\0';
    if (mkdir(parent, 0777) != 0 && errno != EEXIST) return -1;
  }
  return mkdir(cwd, 0777) == 0 || errno == EEXIST ? 0 : -1;
}

/* Opens an output file without blocking; -2 when it would block (a FIFO with no reader). */
static int open_output(int dir_fd, const char *path) {
  int fd = openat(dir_fd, path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0666);
  if (fd < 0) return errno == ENXIO ? -2 : -1;
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return fd;
}

/*
 * Forks (`blocking`: the child opens an output file that may block) or vforks the child,
 * with every signal blocked around it: no handler may run in a vfork child, which shares
 * this memory. Returns the pid, or -1 with errno. Kept apart from launch() so that none of
 * the caller's locals is live across the vfork.
 */
/* gcc warns that out_fd and err_fd "might be clobbered" by vfork: only the child reads them. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wclobbered"
static pid_t start_child(const struct launch *l, int dir_fd, int out_fd, int err_fd, int blocking, const int pipe_fds[2]) {
  sigset_t all, old;
  sigfillset(&all);
  sigprocmask(SIG_SETMASK, &all, &old);
  pid_t pid = blocking ? fork() : vfork();
  if (pid == 0) {
    if (blocking) close(pipe_fds[0]);
    run_child(l, dir_fd, out_fd, err_fd, pipe_fds[1]);
  }
  int saved = errno;
  sigprocmask(SIG_SETMASK, &old, NULL);
  errno = saved;
  return pid;
}
#pragma GCC diagnostic pop

/* Starts one launch: vfork when its files are open, fork when one would block. */
static void launch(struct launch *l) {
  struct failure f = { 0, "mkdir" };
  int dir_fd = -1, out_fd = -1, err_fd = -1, pipe_fds[2] = { -1, -1 };
  if (strcmp(l->make_cwd, "1") == 0 && make_dirs(l->cwd) < 0) goto fail;
  f.step = "chdir";
  dir_fd = open(l->cwd, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0) goto fail;
  f.step = "open stdout";
  out_fd = open_output(dir_fd, l->stdout_path);
  if (out_fd == -1) goto fail;
  f.step = "open stderr";
  if (out_fd >= 0) {
    err_fd = open_output(dir_fd, l->stderr_path);
    if (err_fd == -1) goto fail;
  }
  f.step = "fork";
  if (pipe2(pipe_fds, O_CLOEXEC) < 0) goto fail;
  int blocking = out_fd < 0 || err_fd < 0;
  if (blocking && n_starting == MAX_STARTING) abort(); /* the caller checks for a slot */
  pid_t pid = start_child(l, dir_fd, out_fd < 0 ? -1 : out_fd, err_fd < 0 ? -1 : err_fd, blocking, pipe_fds);
  int fork_errno = errno;
  close(pipe_fds[1]);
  if (pid < 0) { close(pipe_fds[0]); errno = fork_errno; goto fail; }
  if (blocking) {
    fcntl(pipe_fds[0], F_SETFL, O_NONBLOCK);
    starting[n_starting++] = (struct starting){ pipe_fds[0], pid, strdup(l->id), { 0 }, 0 };
    if (starting[n_starting - 1].id == NULL) _exit(1);
  } else {
    /* The vfork child has exec'd or exited: its report (if any) is in the pipe already. */
    struct failure got;
    ssize_t n;
    while ((n = read(pipe_fds[0], &got, sizeof got)) < 0 && errno == EINTR) {}
    close(pipe_fds[0]);
    if (n == (ssize_t)sizeof got) { report_failure(l->id, &got); remember_failed(pid); }
    else emit("S %s %d\n", l->id, (int)pid);
  }
  goto done;
fail:
  f.err = errno;
  report_failure(l->id, &f);
done:
  if (dir_fd >= 0) close(dir_fd);
  if (out_fd >= 0) close(out_fd);
  if (err_fd >= 0) close(err_fd);
}

/* Handles one request; returns 0 when it must wait for a slot (it then stays queued). */
static int handle_request(char *req, size_t len) {
  if (n_starting == MAX_STARTING) return 0;
  /* A NUL-terminated copy: the last field ends at `len`, where the next request starts. */
  char *copy = malloc(len + 1);
  if (copy == NULL) _exit(1);
  memcpy(copy, req, len);
  copy[len] = '\0';
  struct launch *l = parse_request(copy, len);
  if (l == NULL) {
    free(copy);
    /* Nothing the executor sends; say so on stderr and go on. */
    static const char msg[] = "agora-launcher: malformed request ignored\n";
    while (write(STDERR_FILENO, msg, sizeof msg - 1) < 0 && errno == EINTR) {}
    return 1;
  }
  launch(l);
  free_launch(l);
  free(copy);
  return 1;
}

/* Reaps every ended child; a child still starting has its start reported first. */
static void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (size_t i = 0; i < n_starting; i++) {
      if (starting[i].pid == pid) { read_starting(i, 1); break; }
    }
    if (forget_failed(pid)) continue;
    /* The task has ended: what is left of its process group goes too (Mesos destroys the
     * container when the task's process ends). Here rather than in the executor: sooner, and
     * one syscall instead of the executor's kill, which all but always fails with ESRCH (an
     * exception in Node). A group with a member left keeps its id reserved, so this reaches
     * no other process's group. */
    kill(-pid, SIGKILL);
    if (WIFSIGNALED(status)) emit("X %d -1 %d\n", (int)pid, WTERMSIG(status));
    else emit("X %d %d 0\n", (int)pid, WEXITSTATUS(status));
  }
}

static void on_child(int sig) { (void)sig; }

int main(void) {
  struct sigaction ign = { 0 };
  ign.sa_handler = SIG_IGN;
  for (size_t i = 0; i < N_HELD; i++) sigaction(HELD_SIGNALS[i], &ign, NULL);
  struct sigaction chld = { 0 };
  chld.sa_handler = on_child;
  sigaction(SIGCHLD, &chld, NULL);
  /* SIGCHLD is blocked except inside ppoll: one cannot slip in between reap() and the wait. */
  sigset_t blocked, waiting;
  sigemptyset(&blocked);
  sigaddset(&blocked, SIGCHLD);
  sigprocmask(SIG_BLOCK, &blocked, &waiting);
  sigdelset(&waiting, SIGCHLD);

  out_cap = 4096;
  out = malloc(out_cap);
  size_t in_cap = 1 << 16, in_len = 0;
  char *in = malloc(in_cap);
  if (out == NULL || in == NULL) return 1;
  emit("R\n");
  int eof = 0;
  struct pollfd fds[MAX_STARTING + 1];
  for (;;) {
    while (queue_head != NULL && handle_request(queue_head->req, queue_head->len)) {
      struct queued *q = queue_head;
      queue_head = q->next;
      if (queue_head == NULL) queue_tail = NULL;
      free(q->req);
      free(q);
    }
    reap();
    flush_out();
    if (eof && queue_head == NULL && n_starting == 0) {
      free(in);
      free(out);
      return 0;
    }
    nfds_t n = 0;
    if (!eof) fds[n++] = (struct pollfd){ STDIN_FILENO, POLLIN, 0 };
    for (size_t i = 0; i < n_starting; i++) fds[n++] = (struct pollfd){ starting[i].fd, POLLIN, 0 };
    if (ppoll(fds, n, NULL, &waiting) <= 0) continue; /* EINTR: a child ended */
    /* Starting children first (by fd: the array moves as they finish). */
    for (nfds_t k = eof ? 0 : 1; k < n; k++) {
      if (fds[k].revents == 0) continue;
      for (size_t i = 0; i < n_starting; i++) {
        if (starting[i].fd == fds[k].fd) { read_starting(i, 0); break; }
      }
    }
    if (eof || fds[0].revents == 0) continue;
    if (in_len == in_cap) {
      char *grown = realloc(in, in_cap *= 2);
      if (grown == NULL) return 1;
      in = grown;
    }
    ssize_t got = read(STDIN_FILENO, in + in_len, in_cap - in_len);
    if (got < 0) { if (errno == EINTR || errno == EAGAIN) continue; return 1; }
    if (got == 0) { eof = 1; continue; }
    in_len += (size_t)got;
    size_t pos = 0;
    for (;;) {
      char *nl = memchr(in + pos, '\n', in_len - pos);
      if (nl == NULL) break;
      char *end;
      unsigned long len = strtoul(in + pos, &end, 10);
      if (end != nl || len > MAX_REQUEST) return 1; /* not our executor: stop */
      size_t start = (size_t)(nl - in) + 1;
      if (in_len - start < len) {
        /* A request larger than the buffer: grow it so the rest fits. */
        if (start + len > in_cap) {
          size_t cap = in_cap;
          while (start + len > cap) cap *= 2;
          char *grown = realloc(in, cap);
          if (grown == NULL) return 1;
          in = grown;
          in_cap = cap;
        }
        break;
      }
      char *req = in + start;
      /* Requests wait in order: a new one goes behind any queued one. */
      if (queue_head != NULL || !handle_request(req, len)) {
        struct queued *q = malloc(sizeof *q);
        char *copy = malloc(len + 1);
        if (q == NULL || copy == NULL) return 1;
        memcpy(copy, req, len);
        copy[len] = '\0';
        *q = (struct queued){ copy, len, NULL };
        if (queue_tail != NULL) queue_tail->next = q; else queue_head = q;
        queue_tail = q;
      }
      pos = start + len;
    }
    memmove(in, in + pos, in_len - pos);
    in_len -= pos;
  }
}
