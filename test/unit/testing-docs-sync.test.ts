/**
 * docs/testing.md's examples are the tests of test/component/testing-docs.test.ts: each
 * example block on the page must appear verbatim in the test file.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const page = readFileSync(path.join(root, 'docs/testing.md'), 'utf8');
const tests = readFileSync(path.join(root, 'test/component/testing-docs.test.ts'), 'utf8');

t.test('every example of docs/testing.md is in testing-docs.test.ts, verbatim', async (t) => {
  const blocks = [...page.matchAll(/^## Example[^\n]*\n[\s\S]*?```ts\n([\s\S]*?)```/gm)].map((m) => m[1]!);
  t.ok(blocks.length >= 2, 'the page has its examples');
  for (const block of blocks) {
    // The import lines head the test file; the rest of the block is one test, verbatim.
    const lines = block.split('\n');
    for (const line of lines.filter((l) => l.startsWith('import '))) t.ok(tests.includes(line), `the test file has "${line}"`);
    const body = lines.filter((l) => !l.startsWith('import ')).join('\n').trim();
    t.ok(tests.includes(body), `example starting "${body.split('\n')[0]}" is in the test file`);
  }
});
