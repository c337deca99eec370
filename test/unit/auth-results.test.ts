import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { authenticate, isAuthservId, parseAuthenticationResults, trustedResults } from '../../src/domain/auth-results';
import { computePriority } from '../../src/domain/priority';
import { loadConfig } from '../../src/config';
import { MINIMAL_ENV } from '../helpers/env';

const TRUSTED = ['mx.mailgate.example'];

describe('parsing Authentication-Results (RFC 8601 §2.2)', () => {
  test('the authserv-id comes first, then method=result pairs with their properties', () => {
    const header = parseAuthenticationResults(
      'mx.mailgate.example; spf=pass smtp.mailfrom=bounce@example.com; dkim=pass header.d=example.com header.s=s1; dmarc=pass header.from=example.com',
    );
    assert.equal(header?.authservId, 'mx.mailgate.example');
    assert.equal(header?.version, null);
    assert.deepEqual(
      header?.results.map((r) => [r.method, r.result]),
      [
        ['spf', 'pass'],
        ['dkim', 'pass'],
        ['dmarc', 'pass'],
      ],
    );
    assert.equal(header?.results[0]?.properties['smtp.mailfrom'], 'bounce@example.com');
    assert.equal(header?.results[1]?.properties['header.s'], 's1');
  });

  test('an authserv-id may carry a version number', () => {
    const header = parseAuthenticationResults('mx.mailgate.example 1; dmarc=fail header.from=example.com');
    assert.equal(header?.version, 1);
    assert.equal(header?.results[0]?.result, 'fail');
  });

  test('"none" as the whole result means no authentication was done', () => {
    assert.deepEqual(parseAuthenticationResults('mx.mailgate.example; none'), { authservId: 'mx.mailgate.example', version: null, results: [] });
    assert.deepEqual(parseAuthenticationResults('mx.mailgate.example 1 ; (nothing checked) none')?.results, []);
  });

  test('comments, nested comments and quoted strings do not split or fake results', () => {
    const header = parseAuthenticationResults(
      'mx.mailgate.example (spf=fail; dmarc=fail (nested; dmarc=fail)); dkim=pass (good sig) header.d=example.com header.b="ab;c=="; dmarc=pass reason="policy (p=reject); ok" header.from=example.com',
    );
    assert.deepEqual(
      header?.results.map((r) => `${r.method}=${r.result}`),
      ['dkim=pass', 'dmarc=pass'],
    );
    assert.equal(header?.results[0]?.properties['header.b'], 'ab;c==');
    assert.equal(header?.results[1]?.reason, 'policy (p=reject); ok');
  });

  test('method, result and property names are case-insensitive; a method version is dropped', () => {
    const header = parseAuthenticationResults('MX.Mailgate.Example; DKIM/1=PASS Header.D=Example.COM; DMARC = Fail HEADER.FROM = example.com');
    assert.deepEqual(
      header?.results.map((r) => [r.method, r.result]),
      [
        ['dkim', 'pass'],
        ['dmarc', 'fail'],
      ],
    );
    assert.equal(header?.results[0]?.properties['header.d'], 'Example.COM');
  });

  test('lenient about properties real receivers write: unpadded base64 and Microsoft’s action=', () => {
    const header = parseAuthenticationResults(
      'spf.protection.outlook.com; spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=example.com; dkim=pass (signature was verified) header.d=example.com;dmarc=pass action=none header.from=example.com;compauth=pass reason=100',
    );
    assert.deepEqual(
      header?.results.map((r) => r.method),
      ['spf', 'dkim', 'dmarc', 'compauth'],
    );
    assert.equal(parseAuthenticationResults('mx.mailgate.example; dkim=pass header.b=Ab/c+d= header.d=example.com')?.results[0]?.properties['header.d'], 'example.com');
  });

  test('a header that does not follow the grammar is rejected, not half-read', () => {
    for (const value of [
      '',
      'dmarc=fail',
      '; dmarc=fail',
      'mx.mailgate.example',
      'mx.mailgate.example;',
      'mx.mailgate.example dmarc=pass',
      'mx.mailgate.example; dmarc',
      'mx.mailgate.example; =pass',
      'mx.mailgate.example; dmarc=pass (unterminated',
      'mx.mailgate.example; dmarc=pass reason="unterminated',
      'mx.mailgate.example; dmarc=pass) header.from=x',
    ]) {
      assert.equal(parseAuthenticationResults(value), null, value);
    }
  });
});

describe('which results are trusted (RFC 8601 §5)', () => {
  test('no configured authserv-id: no header is trusted, however it is written', () => {
    assert.deepEqual(trustedResults(['mx.mailgate.example; dmarc=pass header.from=example.com'], []), []);
  });

  test('a header from another authserv-id is ignored', () => {
    assert.deepEqual(trustedResults(['evil.example; dmarc=pass header.from=example.com'], TRUSTED), []);
  });

  test('the authserv-id matches case-insensitively', () => {
    assert.equal(trustedResults(['MX.MAILGATE.EXAMPLE; dmarc=pass'], TRUSTED).length, 1);
  });

  test('only the topmost run of trusted headers counts: one below a foreign header was in the message already', () => {
    const values = [
      'mx.mailgate.example; spf=pass smtp.mailfrom=example.com',
      'relay.example.net; dkim=pass header.d=example.com',
      'mx.mailgate.example; dmarc=fail header.from=example.com',
    ];
    assert.deepEqual(
      trustedResults(values, TRUSTED).map((r) => r.method),
      ['spf'],
    );
  });

  test('several trusted headers on top (two of our receivers, or one per check) all count', () => {
    const values = ['mx2.mailgate.example; dkim=pass header.d=example.com', 'mx.mailgate.example; spf=pass smtp.mailfrom=example.com'];
    assert.deepEqual(
      trustedResults(values, ['mx.mailgate.example', 'mx2.mailgate.example']).map((r) => r.method),
      ['dkim', 'spf'],
    );
  });

  test('an unreadable header on top ends the trusted run', () => {
    assert.deepEqual(trustedResults(['mx.mailgate.example; dmarc', 'mx.mailgate.example; dmarc=pass'], TRUSTED), []);
  });
});

describe('the verdict on the sender', () => {
  const verdict = (values: string[], domain = 'example.com') => authenticate(trustedResults(values, TRUSTED), domain);

  test('trusted DMARC pass and fail decide', () => {
    assert.deepEqual(verdict(['mx.mailgate.example; dmarc=pass header.from=example.com']), { authentication: 'pass', failures: [] });
    assert.deepEqual(verdict(['mx.mailgate.example; spf=softfail smtp.mailfrom=example.com; dmarc=fail header.from=example.com']), {
      authentication: 'fail',
      failures: ['spf-softfail', 'dmarc-fail'],
    });
  });

  test('a DMARC result about another From domain is ignored', () => {
    assert.equal(verdict(['mx.mailgate.example; dmarc=pass header.from=other.example']).authentication, 'unknown');
  });

  test('"none", or no trusted header at all, is unknown: neither pass nor fail', () => {
    assert.equal(verdict(['mx.mailgate.example; none']).authentication, 'unknown');
    assert.equal(verdict([]).authentication, 'unknown');
  });

  test('a forged dmarc=fail from an untrusted authserv-id has no effect', () => {
    assert.deepEqual(verdict(['attacker.example; dmarc=fail header.from=example.com']), { authentication: 'unknown', failures: [] });
  });

  test('without DMARC an aligned DKIM or SPF pass is a pass; an unaligned one is not', () => {
    assert.equal(verdict(['mx.mailgate.example; dkim=pass header.d=example.com']).authentication, 'pass');
    assert.equal(verdict(['mx.mailgate.example; dkim=pass header.i=@example.com']).authentication, 'pass');
    assert.equal(verdict(['mx.mailgate.example; spf=pass smtp.mailfrom=bounce@example.com']).authentication, 'pass');
    assert.equal(verdict(['mx.mailgate.example; dkim=pass header.d=example.com'], 'mail.example.com').authentication, 'pass');
    assert.equal(verdict(['mx.mailgate.example; dkim=pass header.d=attacker.example']).authentication, 'unknown');
    assert.equal(verdict(['mx.mailgate.example; dkim=pass header.d=evil.example.com']).authentication, 'unknown');
    assert.equal(verdict(['mx.mailgate.example; spf=pass smtp.mailfrom=bounce@notexample.com']).authentication, 'unknown');
  });

  test('without DMARC an aligned SPF fail is a failure; DKIM failures and permerrors decide nothing', () => {
    assert.equal(verdict(['mx.mailgate.example; spf=fail smtp.mailfrom=example.com']).authentication, 'fail');
    assert.equal(verdict(['mx.mailgate.example; spf=fail smtp.mailfrom=list.example.org']).authentication, 'unknown');
    assert.deepEqual(verdict(['mx.mailgate.example; dkim=fail header.d=example.com']), { authentication: 'unknown', failures: ['dkim-fail'] });
    assert.equal(verdict(['mx.mailgate.example; spf=permerror smtp.mailfrom=example.com; dmarc=permerror header.from=example.com']).authentication, 'unknown');
  });

  test('DMARC decides over SPF and DKIM', () => {
    assert.equal(verdict(['mx.mailgate.example; spf=fail smtp.mailfrom=example.com; dmarc=pass header.from=example.com']).authentication, 'pass');
    assert.equal(verdict(['mx.mailgate.example; dkim=pass header.d=example.com; dmarc=fail header.from=example.com']).authentication, 'fail');
  });
});

describe('priority and authentication', () => {
  const rules = { keywords: { urgent: [], high: [] }, vipDomains: ['vip.example'], headers: true };
  const trust = { trustedAuthservIds: TRUSTED };
  const mail = (authResults: string[]) => ({ subject: 'Question', text: '', sender: 'ceo@vip.example', headers: { 'authentication-results': authResults } });

  test('a VIP domain is boosted only with a trusted pass', () => {
    const passed = computePriority(mail(['mx.mailgate.example; dmarc=pass header.from=vip.example']), rules, trust);
    assert.equal(passed.priority, 'high');
    assert.equal(passed.authentication, 'pass');
    assert.deepEqual(passed.tags, ['priority:vip:vip.example']);
  });

  test('a VIP address with no result, or a pass written by the sender, is not boosted and not flagged', () => {
    for (const headers of [[], ['vip.example; dmarc=pass header.from=vip.example'], ['mx.mailgate.example; none']]) {
      const result = computePriority(mail(headers), rules, trust);
      assert.equal(result.priority, 'normal', headers.join());
      assert.equal(result.untrusted, false, headers.join());
      assert.equal(result.authentication, 'unknown', headers.join());
    }
  });

  test('a pass from our own authserv-id is not believed when that id is not configured', () => {
    const result = computePriority(mail(['mx.mailgate.example; dmarc=pass header.from=vip.example']), rules, { trustedAuthservIds: [] });
    assert.equal(result.priority, 'normal');
    assert.equal(result.authentication, 'unknown');
  });

  test('a trusted DMARC failure flags the sender and leaves evidence tags', () => {
    const result = computePriority(mail(['mx.mailgate.example; dmarc=fail header.from=vip.example']), rules, trust);
    assert.equal(result.untrusted, true);
    assert.equal(result.priority, 'normal');
    assert.deepEqual(result.tags, ['auth:dmarc-fail', 'untrusted-sender']);
  });

  test('a forged dmarc=fail below our own header changes nothing', () => {
    const result = computePriority(
      mail(['mx.mailgate.example; dmarc=pass header.from=vip.example', 'attacker.example; dmarc=fail', 'mx.mailgate.example; dmarc=fail header.from=vip.example']),
      rules,
      trust,
    );
    assert.equal(result.untrusted, false);
    assert.equal(result.priority, 'high');
    assert.deepEqual(result.tags, ['priority:vip:vip.example']);
  });
});

describe('TRUSTED_AUTHSERV_IDS', () => {
  const base = MINIMAL_ENV;

  test('unset or empty trusts no authserv-id', () => {
    assert.deepEqual(loadConfig(base).trustedAuthservIds, []);
    assert.deepEqual(loadConfig({ ...base, TRUSTED_AUTHSERV_IDS: ' ' }).trustedAuthservIds, []);
  });

  test('a comma-separated list of domain names, lower-cased', () => {
    assert.deepEqual(loadConfig({ ...base, TRUSTED_AUTHSERV_IDS: 'MX.Mailgate.Example, mx2.mailgate.example,' }).trustedAuthservIds, [
      'mx.mailgate.example',
      'mx2.mailgate.example',
    ]);
  });

  test('a name that is not an authserv-id stops the start with the variable name', () => {
    for (const bad of ['mx mailgate', 'mx;evil', '"quoted"', '-mx.example', 'mx..example']) {
      assert.throws(() => loadConfig({ ...base, TRUSTED_AUTHSERV_IDS: bad }), /TRUSTED_AUTHSERV_IDS/, bad);
    }
    assert.equal(isAuthservId('mx.mailgate.example'), true);
    assert.equal(isAuthservId('mx'), true);
  });
});
