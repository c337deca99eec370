/** The web view's pure parts: HTML by construction, the users file, Prometheus text, reply subjects. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replySubject } from '../../src/activities/send-agent-reply';
import { parseWebUsers } from '../../src/domain/web-users';
import { html, query, trusted } from '../../src/api/web/html';
import { bucketQuantile } from '../../src/api/web/operator-pages';
import { parsePrometheusText, sumSamples } from '../../src/api/web/prometheus-text';
import { loadConfig } from '../../src/config';
import { MINIMAL_ENV } from '../helpers/env';

const HASH = '$2b$04$' + 'a'.repeat(53);

test('every interpolation is escaped unless it is Html, and arrays join', () => {
  const hostile = `"><script>alert('x')</script>&\``;
  const out = html`<a title="${hostile}">${hostile}</a>${[hostile, html`<b>${hostile}</b>`]}${trusted('<i>ok</i>')}${null}${undefined}${false}${0}`;
  assert.equal(
    out.value,
    '<a title="&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&#96;">&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&#96;</a>' +
      '&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&#96;<b>&quot;&gt;&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&#96;</b><i>ok</i>0',
  );
});

test('a query string encodes each value and leaves out empty ones', () => {
  assert.equal(query({ q: 'a&b=c', page: 2, status: undefined, queue: '' }), '?q=a%26b%3Dc&page=2');
  assert.equal(query({}), '');
});

test('the users file takes names, bcrypt hashes and roles, and refuses plain passwords, bad roles and doubles', () => {
  assert.deepEqual(parseWebUsers(`# team\n\nann:${HASH}\nola:${HASH}:operator\n`), [
    { name: 'ann', passwordHash: HASH, role: 'agent' },
    { name: 'ola', passwordHash: HASH, role: 'operator' },
  ]);
  assert.throws(() => parseWebUsers('ann:hunter2'), /line 1: the password must be a bcrypt hash/);
  assert.throws(() => parseWebUsers(`ann:${HASH}:admin`), /role must be agent or operator/);
  assert.throws(() => parseWebUsers(`ann:${HASH}\nAnn:${HASH}`), /line 2: the user Ann is named twice/);
  assert.throws(() => parseWebUsers(`<b>:${HASH}`), /user name/);
});

test('configuration: a users file that cannot be read or parsed is named, never echoed', () => {
  assert.throws(
    () => loadConfig({ ...MINIMAL_ENV, WEB_USERS_FILE: '/nonexistent/users' }),
    (error: Error & { variable?: string }) => error.variable === 'WEB_USERS_FILE',
  );
  const config = loadConfig({ ...MINIMAL_ENV, API_PUBLIC_URL: 'https://help.example.com' });
  assert.equal(config.web.secureCookies, true, 'Secure cookies behind TLS by default');
  assert.equal(config.web.users.length, 0);
  assert.equal(loadConfig({ ...MINIMAL_ENV }).web.secureCookies, false);
  assert.throws(() => loadConfig({ ...MINIMAL_ENV, WEB_AUTH_HEADER: 'X User' }), /WEB_AUTH_HEADER/);
});

test('Prometheus text: samples with labels, summed by label; comments and junk skipped', () => {
  const samples = parsePrometheusText(
    [
      '# HELP helpdesk_suppressed_total x',
      'helpdesk_suppressed_total{reason="own_loop"} 3',
      'helpdesk_suppressed_total{reason="rate_limited",queue="a\\"b"} 2',
      'junk line',
      'helpdesk_parked 4',
    ].join('\n'),
  );
  assert.equal(sumSamples(samples, 'helpdesk_suppressed_total'), 5);
  assert.equal(sumSamples(samples, 'helpdesk_suppressed_total', { reason: 'own_loop' }), 3);
  assert.equal(samples[1]!.labels.queue, 'a"b');
  assert.equal(sumSamples(samples, 'helpdesk_parked'), 4);
});

test('a histogram quantile is estimated within its bucket, as histogram_quantile does', () => {
  const samples = parsePrometheusText(
    ['t_bucket{le="0.5"} 50', 't_bucket{le="1"} 90', 't_bucket{le="2"} 100', 't_bucket{le="+Inf"} 100'].join('\n'),
  );
  assert.equal(bucketQuantile(samples, 't', 0.5), 0.5);
  assert.equal(bucketQuantile(samples, 't', 0.95), 1.5);
  assert.equal(bucketQuantile([], 't', 0.95), null);
});

test("a reply's subject is the ticket's, with Re: and the ticket token once", () => {
  assert.equal(replySubject('Printer jams', 42), 'Re: Printer jams [MG-42]');
  assert.equal(replySubject('RE: Printer jams [MG-42]', 42), 'RE: Printer jams [MG-42]');
  assert.equal(replySubject('Re: old [MG-7]', 42), 'Re: old [MG-7] [MG-42]');
  assert.equal(replySubject('', 1), 'Re: (no subject) [MG-1]');
});
