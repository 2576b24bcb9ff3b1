/**
 * Reading task sandboxes through a slave's HTTP API, as an operator (or `agora run`) would:
 * `/state` names the executor's directory, `/files/read` returns the bytes.
 *
 * @module
 */
import { getJson } from './http.js';
import { waitFor } from './wait.js';

interface StateExecutor { id?: string; directory?: string; tasks?: Array<{ id?: string }>; queued_tasks?: Array<{ id?: string }>; completed_tasks?: Array<{ id?: string }> }
interface StateFramework { id?: string; executors?: StateExecutor[]; completed_executors?: StateExecutor[] }

/** The task's sandbox dir on the slave (`<executor directory>/tasks/<taskId>`), or undefined if /state does not list it. */
export async function findTaskSandbox(slaveUrl: string, frameworkId: string, taskId: string): Promise<string | undefined> {
  const { status, body } = await getJson<{ frameworks?: StateFramework[]; completed_frameworks?: StateFramework[] }>(`${slaveUrl}/state`);
  if (status !== 200) return undefined;
  const frameworks = [...(body.frameworks ?? []), ...(body.completed_frameworks ?? [])].filter((f) => f.id === frameworkId);
  for (const f of frameworks) {
    for (const e of [...(f.executors ?? []), ...(f.completed_executors ?? [])]) {
      const tasks = [...(e.tasks ?? []), ...(e.queued_tasks ?? []), ...(e.completed_tasks ?? [])];
      if (e.directory && tasks.some((t) => t.id === taskId)) return `${e.directory}/tasks/${taskId}`;
    }
  }
  return undefined;
}

/** The whole of a sandbox file through `/files/read` (in 64 KiB pages, at most 1 MiB). */
export async function readSandboxFile(slaveUrl: string, path: string): Promise<string> {
  const chunks: Buffer[] = [];
  let offset = 0;
  for (let i = 0; i < 16; i++) {
    const { status, body, text } = await getJson<{ data: string; offset: number }>(
      `${slaveUrl}/files/read?path=${encodeURIComponent(path)}&offset=${offset}&length=65536`,
    );
    if (status !== 200) throw new Error(`/files/read ${path}: ${status} ${text}`);
    // A character split by the page end arrives as U+FFFD: read it again with the next page.
    const page = body.data.endsWith('\uFFFD') && body.data.length > 1 ? body.data.slice(0, -1) : body.data;
    const data = Buffer.from(page, 'utf8');
    if (data.length === 0) break;
    chunks.push(data);
    offset += data.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Waits until the task's `file` (stdout/stderr) satisfies `match`; returns its content. */
export async function waitForSandboxOutput(
  slaveUrl: string, frameworkId: string, taskId: string, match: (text: string) => boolean,
  opts: { timeoutMs: number; file?: 'stdout' | 'stderr' },
): Promise<string> {
  const file = opts.file ?? 'stdout';
  let sandbox: string | undefined;
  return waitFor(async () => {
    sandbox ??= await findTaskSandbox(slaveUrl, frameworkId, taskId);
    if (sandbox === undefined) return undefined;
    const text = await readSandboxFile(slaveUrl, `${sandbox}/${file}`);
    return match(text) ? text : undefined;
  }, { timeoutMs: opts.timeoutMs, what: `${taskId}'s ${file} to match`, intervalMs: 100 });
}
