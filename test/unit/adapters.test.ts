import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseScanReply } from '../../src/adapters/clamd';
import { safeContentType } from '../../src/adapters/object-store';
import { classifyS3Error } from '../../src/adapters/s3-errors';
import { classifySmtpError } from '../../src/adapters/smtp-errors';
import { addressesOf, NotAnEmailError, readHeaderBlock } from '../../src/ingress/mime-headers';
import { loadConfig } from '../../src/config';
import { MINIMAL_ENV } from '../helpers/env';
import { sanitizeEmailHtml } from '../../src/domain/html';

describe('clamd replies', () => {
  test('"FOUND" is an infected verdict naming the signature, "OK" is clean', () => {
    assert.deepEqual(parseScanReply('stream: Win.Test.EICAR_HDB-1 FOUND\0'), { status: 'infected', signature: 'Win.Test.EICAR_HDB-1' });
    assert.deepEqual(parseScanReply('stream: OK'), { status: 'clean' });
  });
  test('a size-limit reply is an unscannable verdict; any other error reply is a permanent ScannerRejected failure', () => {
    assert.equal(parseScanReply('INSTREAM size limit exceeded. ERROR').status, 'unscannable');
    assert.throws(() => parseScanReply('stream: Can\'t allocate memory ERROR'), { type: 'ScannerRejected' });
  });
});

describe('error classification', () => {
  test('S3: missing keys are permanent, network trouble and 5xx transient, other 4xx permanent', () => {
    assert.equal(classifyS3Error({ name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } }), 'ObjectNotFound');
    assert.equal(classifyS3Error({ code: 'ECONNREFUSED' }), 'ObjectStoreUnavailable');
    assert.equal(classifyS3Error({ name: 'InternalError', $metadata: { httpStatusCode: 503 } }), 'ObjectStoreUnavailable');
    assert.equal(classifyS3Error({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }), 'ObjectStoreRejected');
  });
  test('SMTP: 5xx is permanent except 503, 4xx and network errors are transient', () => {
    assert.equal(classifySmtpError({ responseCode: 550 }), 'SmtpRejected');
    assert.equal(classifySmtpError({ responseCode: 503 }), 'SmtpUnavailable');
    assert.equal(classifySmtpError({ responseCode: 451 }), 'SmtpUnavailable');
    assert.equal(classifySmtpError({ code: 'ECONNECTION' }), 'SmtpUnavailable');
    assert.equal(classifySmtpError({ code: 'EENVELOPE' }), 'SmtpRejected', 'no valid recipient: found by the hostile-input suite');
  });
});

describe('the ingress header reader', () => {
  test('unfolds headers and reads addresses with display names and groups', () => {
    const headers = readHeaderBlock(Buffer.from('To: "Doe, J" <j@mailgate.local>,\r\n team: a@mailgate.local, b@x.org;\r\nSubject: hi\r\n\r\nbody'));
    assert.deepEqual(addressesOf(headers.all('to')), ['j@mailgate.local', 'a@mailgate.local', 'b@x.org']);
    assert.equal(headers.get('SUBJECT'), 'hi');
  });
  test('refuses an empty body and bytes that are not text; prose and an unusual header block are mail (issue 14, class 1)', () => {
    assert.throws(() => readHeaderBlock(Buffer.alloc(0)), NotAnEmailError);
    assert.throws(() => readHeaderBlock(Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0])), /binary data/);
    assert.equal(readHeaderBlock(Buffer.from('just words\n\nmore')).get('from'), undefined);
    assert.equal(readHeaderBlock(Buffer.from('X-Custom: 1\n\nbody')).get('x-custom'), '1');
  });
});

describe('configuration', () => {
  const base = MINIMAL_ENV;
  test('a limit of 0 or a non-number is refused with the variable name, never read as "no limit"', () => {
    assert.throws(() => loadConfig({ ...base, MAX_MESSAGE_BYTES: '0' }), /MAX_MESSAGE_BYTES/);
    assert.throws(() => loadConfig({ ...base, MAX_ATTACHMENT_BYTES: 'lots' }), /MAX_ATTACHMENT_BYTES/);
  });
  test('missing credentials fail fast and the error does not echo any secret', () => {
    assert.throws(() => loadConfig({ S3_SECRET_ACCESS_KEY: 'hunter2' }), (error: Error) => {
      assert.match(error.message, /S3_ACCESS_KEY_ID is required/);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
  });
  test('defaults give a 40 MB message cap and a 25 MB attachment cap', () => {
    const config = loadConfig(base);
    assert.equal(config.limits.maxMessageBytes, 40 * 1024 * 1024);
    assert.equal(config.limits.maxAttachmentBytes, 25 * 1024 * 1024);
  });
});

describe('HTML sanitization', () => {
  test('drops scripts, event handlers, remote images and javascript: links, keeps formatting', () => {
    const html = sanitizeEmailHtml(
      '<p onclick="x()">Hi <b>there</b><script>steal()</script><img src="https://t.example/p.gif"><img src="cid:logo"><a href="javascript:alert(1)">x</a><a href="https://ok.example">ok</a></p>',
    );
    assert.match(html, /<b>there<\/b>/);
    assert.doesNotMatch(html, /onclick|script|steal|t\.example|javascript/);
    assert.match(html, /src="cid:logo"/);
    // Written out as the URL parser serialises it: the href followed is the href judged.
    assert.match(html, /href="https:\/\/ok\.example\/" rel="noopener noreferrer nofollow" target="_blank"/);
  });
});

describe('the signing key', () => {
  test('is required and must be long enough; the error names the variable, never the value', () => {
    const env = { S3_ACCESS_KEY_ID: 'k', S3_SECRET_ACCESS_KEY: 's' };
    assert.throws(() => loadConfig(env), /MAILGATE_SIGNING_KEY is required/);
    assert.throws(() => loadConfig({ ...env, MAILGATE_SIGNING_KEY: 'short-secret' }), (error: Error) => {
      assert.match(error.message, /at least 16 characters/);
      assert.doesNotMatch(error.message, /short-secret/);
      return true;
    });
  });
});

describe('content types for the object store', () => {
  test('a mangled declared type becomes application/octet-stream, a good one keeps its type without parameters', () => {
    assert.equal(safeContentType('application/pdf; name="x.pdf"'), 'application/pdf');
    assert.equal(safeContentType('text/pl\u00e4in\u0001; charset=utf-8'), 'application/octet-stream');
    assert.equal(safeContentType('not a type'), 'application/octet-stream');
    assert.equal(safeContentType(undefined), 'application/octet-stream');
  });
});

describe('remote images', () => {
  test('are dropped by default and become plain links with "link"; nothing is loaded either way', () => {
    const html = '<p>Logo <img src="https://tracker.example/p.gif?u=1" alt="logo"> and <img src="cid:a@b"></p>';
    const dropped = sanitizeEmailHtml(html);
    assert.doesNotMatch(dropped, /tracker\.example/);
    assert.match(dropped, /src="cid:a@b"/);
    const linked = sanitizeEmailHtml(html, { remoteImages: 'link' });
    assert.match(linked, /<a href="https:\/\/tracker\.example\/p\.gif\?u=1" rel="noopener noreferrer nofollow" target="_blank">\[remote image: logo\]<\/a>/);
    assert.doesNotMatch(linked, /<img[^>]+tracker/);
    assert.doesNotMatch(sanitizeEmailHtml('<img src="javascript:alert(1)">', { remoteImages: 'link' }), /javascript/);
  });
});
