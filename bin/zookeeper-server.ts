/**
 * Running Debian's ZooKeeper server (package `zookeeper`, the jar in libzookeeper-java) on
 * this machine: its configuration, its command line and its readiness probe. Used by
 * `agora local --ha` and by the tests' ZooKeeper helper (test/helpers/zookeeper.ts).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';

/** Where the Debian package puts the server (its manifest's Class-Path names the other jars). */
export const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
/** The package's configuration dir (log4j settings); put first on the class path when present. */
export const ZOOKEEPER_CONF_DIR = '/etc/zookeeper/conf';

/** What to tell a user whose machine has no ZooKeeper server. */
export const ZOOKEEPER_MISSING = `ZooKeeper is not installed (${ZOOKEEPER_JAR} is missing): run 'node scripts/ensure-zookeeper.mjs' or 'sudo apt-get install zookeeper'`;

export interface ZooCfgOptions {
  dataDir: string;
  port: number;
  /** Smallest session timeout the server grants (ms); ZooKeeper's default is 2 ticks. */
  minSessionTimeoutMs: number;
  /** `forceSync=no` (faster, not durable across a power loss): for tests and local clusters. */
  noSync?: boolean;
}

/** A standalone server's zoo.cfg on loopback. */
export function zooCfg(o: ZooCfgOptions): string {
  return [
    'tickTime=200',
    `dataDir=${o.dataDir}`,
    `clientPort=${o.port}`,
    'clientPortAddress=127.0.0.1',
    `minSessionTimeout=${o.minSessionTimeoutMs}`,
    'maxSessionTimeout=60000',
    'maxClientCnxns=0',
    'admin.enableServer=false',
    '4lw.commands.whitelist=srvr,ruok,stat',
    ...(o.noSync === true ? ['forceSync=no'] : []),
    '',
  ].join('\n');
}

/** `java` arguments that run the server with `cfgPath` (small heap, fast start). */
export function zookeeperJavaArgs(cfgPath: string): string[] {
  const classpath = existsSync(ZOOKEEPER_CONF_DIR) ? `${ZOOKEEPER_CONF_DIR}:${ZOOKEEPER_JAR}` : ZOOKEEPER_JAR;
  return [
    '-Xmx256m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Dzookeeper.admin.enableServer=false',
    '-Dzookeeper.jmx.log4j.disable=true',
    '-cp',
    classpath,
    'org.apache.zookeeper.server.ZooKeeperServerMain',
    cfgPath,
  ];
}

/** Finds a free loopback port by binding port 0 and closing again. */
export async function freeLoopbackPort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Sends a four-letter command and resolves with the whole answer ('' when refused). */
export function fourLetterWord(port: number, word: string, timeoutMs = 1000): Promise<string> {
  return new Promise<string>((resolve) => {
    let answer = '';
    const socket = createConnection({ host: '127.0.0.1', port });
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(word));
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
  });
}

/**
 * Polls `srvr` until the server answers (clients connecting before that wait out their
 * ~4 s connect timeout). Resolves true when it answered, false when `gaveUp()` turned true
 * or `timeoutMs` passed.
 */
export async function waitForZooKeeper(port: number, timeoutMs: number, gaveUp: () => boolean = () => false): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!gaveUp() && Date.now() < deadline) {
    const answer = await fourLetterWord(port, 'srvr', 1000);
    if (answer.includes('Zookeeper version')) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}
