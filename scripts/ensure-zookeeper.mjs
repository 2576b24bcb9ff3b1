#!/usr/bin/env node
// Makes sure a ZooKeeper server and a Java runtime are installed for the tests (`npm test`
// runs this as part of "pretest"). The tests start their own ZooKeeper servers from the
// Debian package `zookeeper` (/usr/share/java/zookeeper.jar), on free loopback ports.
//
// Missing and running as root: installs it with apt-get. Missing and not root: exits 1 and
// says how to install it. Plain Node, no build needed.
import { existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

const ZOOKEEPER_JAR = '/usr/share/java/zookeeper.jar';
const APT_LISTS = '/var/lib/apt/lists';

function hasJava() {
  const r = spawnSync('java', ['-version'], { stdio: 'ignore' });
  return r.status === 0;
}

function run(cmd, args) {
  console.error(`ensure-zookeeper: ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return r.status === 0;
}

/** apt's package lists are missing or empty (fresh container): `apt-get update` first. */
function aptListsMissing() {
  try {
    if (!statSync(APT_LISTS).isDirectory()) return true;
    const r = spawnSync('sh', ['-c', `ls ${APT_LISTS} | grep -q '_Packages'`]);
    return r.status !== 0;
  } catch {
    return true;
  }
}

const missing = [];
if (!existsSync(ZOOKEEPER_JAR)) missing.push('zookeeper');
if (!hasJava()) missing.push('default-jre-headless');

if (missing.length === 0) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (!isRoot || !existsSync('/usr/bin/apt-get')) {
  console.error(
    `ensure-zookeeper: the tests need ZooKeeper (${ZOOKEEPER_JAR}) and Java; missing: ${missing.join(', ')}.\n` +
      `Install them with:  sudo apt-get install ${missing.join(' ')}`,
  );
  process.exit(1);
}

// Installing may fail on stale package lists: update (when needed, or on a failed first try).
let ok = (!aptListsMissing() || run('apt-get', ['update'])) && run('apt-get', ['install', '-y', '--no-install-recommends', ...missing]);
if (!ok) ok = run('apt-get', ['update']) && run('apt-get', ['install', '-y', '--no-install-recommends', ...missing]);
if (!ok || !existsSync(ZOOKEEPER_JAR) || !hasJava()) {
  console.error(`ensure-zookeeper: could not install ${missing.join(' ')} with apt-get`);
  process.exit(1);
}
console.error('ensure-zookeeper: ZooKeeper installed');
