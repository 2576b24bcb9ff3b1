/**
 * The API's pure parsing: booleans, embeds, label selectors, ids, JSON body errors, SSE frames.
 */
import t from 'tap';
import { matchesLabels, parseBool, parseLabelSelector, resolveAppEmbeds, sseFrame } from '../../frameworks/marathon/api/index.js';
import { absolutePathId, segmentsOf } from '../../frameworks/marathon/api/ids.js';
import { isJsonContentType, jacksonParseMessage } from '../../frameworks/marathon/api/body.js';
import { errorResponse } from '../../frameworks/marathon/api/errors.js';
import { MarathonError } from '../../frameworks/marathon/service.js';

t.test('booleans: Python-style and defaults', async (t) => {
  for (const v of ['true', 'True', 'TRUE', '1']) t.equal(parseBool(v, false), true, v);
  for (const v of ['false', 'False', '0', '', 'yes']) t.equal(parseBool(v, true), false, v);
  t.equal(parseBool(undefined, true), true);
  t.equal(parseBool(undefined, false), false);
});

t.test('embeds resolve with prefixes; failures means tasks + lastTaskFailure', async (t) => {
  t.same([...resolveAppEmbeds(['apps.tasks', 'app.counts', 'apps.unknown', 'group.apps.readiness'])].sort(), ['counts', 'tasks']);
  t.same([...resolveAppEmbeds(['apps.failures'])].sort(), ['lastTaskFailure', 'tasks']);
  t.same([...resolveAppEmbeds(['group.apps.taskStats'], ['group.apps.'])], ['taskStats']);
});

t.test('label selectors', async (t) => {
  const labels = { tier: 'front', owner: 'zeus', 'a,b': 'x y' };
  const ok = (sel: string): boolean => matchesLabels(parseLabelSelector(sel), labels);
  t.ok(ok('tier==front'));
  t.ok(ok('tier == front'));
  t.notOk(ok('tier==back'));
  t.ok(ok('tier!=back'));
  t.notOk(ok('missing!=x'), 'not-equals needs the label');
  t.ok(ok('owner'));
  t.notOk(ok('missing'));
  t.ok(ok('tier in (back, front)'));
  t.ok(ok('tier notin (back)'));
  t.ok(ok('tier==front,owner==zeus'));
  t.notOk(ok('tier==front,owner==hera'));
  t.ok(ok('a\\,b==x y'), 'escaped comma in a key');
  t.throws(() => parseLabelSelector('tier==front,,'), { name: 'HttpError', message: /^Can not parse label selector/ });
  t.throws(() => parseLabelSelector('x y z'), { name: 'HttpError', message: /^Can not parse label selector/ });
});

t.test('path ids from URLs drop empty segments', async (t) => {
  t.equal(absolutePathId(segmentsOf('//foo//bar/')), '/foo/bar');
  t.equal(absolutePathId(segmentsOf('/')), '/');
  t.equal(absolutePathId(segmentsOf('/a%20b')), '/a b');
});

t.test('JSON bodies: content types and Jackson-style messages', async (t) => {
  t.ok(isJsonContentType(undefined));
  t.ok(isJsonContentType('application/json; charset=utf-8'));
  t.ok(isJsonContentType('application/vnd.api+json'));
  t.notOk(isJsonContentType('application/x-www-form-urlencoded'));
  let err: Error | undefined;
  try {
    JSON.parse('{"a":}');
  } catch (e) {
    err = e as Error;
  }
  t.match(jacksonParseMessage('{"a":}', err!), /^Unexpected character \('}' \(code 125\)\)/);
  try {
    JSON.parse('{"a":');
  } catch (e) {
    err = e as Error;
  }
  t.equal(jacksonParseMessage('{"a":', err!), 'Unexpected end-of-input');
});

t.test('service errors map to Marathon status codes and bodies', async (t) => {
  t.same(errorResponse(new MarathonError('locked', 'App is locked', undefined, ['d1'])), { status: 409, body: { message: 'App is locked', deployments: [{ id: 'd1' }] } });
  t.same(errorResponse(new MarathonError('validation', 'Object is not valid', [{ path: '/id', errors: ['x'] }])), { status: 422, body: { message: 'Object is not valid', details: [{ path: '/id', errors: ['x'] }] } });
  t.same(errorResponse(new MarathonError('not-found', "App '/x' does not exist")), { status: 404, body: { message: "App '/x' does not exist" } });
  t.same(errorResponse(new MarathonError('conflict', 'exists')), { status: 409, body: { message: 'exists' } });
  t.same(errorResponse(new MarathonError('unavailable', 'not leader')), { status: 503, body: { message: 'not leader' } });
  t.same(errorResponse(new MarathonError('bad-request', 'bad')), { status: 400, body: { message: 'bad' } });
  t.equal(errorResponse(new Error('boom')).status, 500);
});

t.test('SSE frames: event line, one-line data, blank line (CRLF as Jetty writes)', async (t) => {
  const frame = sseFrame({ eventType: 'deployment_success', timestamp: '2026-01-01T00:00:00.000Z', id: 'x', note: 'a\nb' });
  t.equal(frame, 'event: deployment_success\r\ndata: {"eventType":"deployment_success","timestamp":"2026-01-01T00:00:00.000Z","id":"x","note":"a\\nb"}\r\n\r\n');
});
