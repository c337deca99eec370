/**
 * The hostile-input suite: malformed and adversarial messages generated from real fixtures by a
 * seeded mutation fuzzer, plus hand-made attack shapes, posted through the real ingress and
 * pipeline. Every message must end in a recorded state (refused at the door with a 4xx, or a
 * workflow that completed as ticket, comment, note, suppressed or rejected); none may crash a
 * process or leave a workflow stuck.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { zipArchive } from '../test/helpers/files';

/** Deterministic PRNG (mulberry32), so a failing case can be generated again from its seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface HostileCase {
  name: string;
  raw: Buffer;
}

const EICAR = Buffer.from('X5O!P%@AP[4\\PZX54(P^)7CC)7}$' + 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*', 'latin1');

function header(id: string, extra = ''): string {
  return `From: Fuzz <fuzz-${id}@customer.example>\r\nTo: support@mailgate.local\r\nSubject: hostile ${id}\r\nMessage-ID: <${id}@hostile.example>\r\nMIME-Version: 1.0\r\n${extra}`;
}

function multipart(id: string, parts: string[], type = 'mixed'): string {
  const b = `b-${id}`;
  return `${header(id, `Content-Type: multipart/${type}; boundary="${b}"\r\n`)}\r\n${parts.map((p) => `--${b}\r\n${p}\r\n`).join('')}--${b}--\r\n`;
}

function attachment(name: string, type: string, data: Buffer): string {
  const b64 = data.toString('base64').replace(/.{76}/g, '$&\r\n');
  return `Content-Type: ${type}; name="${name}"\r\nContent-Disposition: attachment; filename="${name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n${b64}`;
}

/** Hand-made attack shapes named in the issue. */
export function attackCases(run: string): HostileCase[] {
  const id = (tag: string) => `${tag}.${run}`;
  const cases: HostileCase[] = [];
  const add = (name: string, raw: string | Buffer) => cases.push({ name, raw: Buffer.isBuffer(raw) ? raw : Buffer.from(raw, 'latin1') });

  let nested = 'Content-Type: text/plain\r\n\r\ndeepest';
  for (let depth = 0; depth < 120; depth++) nested = `Content-Type: multipart/mixed; boundary="d${depth}"\r\n\r\n--d${depth}\r\n${nested}\r\n--d${depth}--`;
  add('deep nesting (120 levels)', `${header(id('deep'))}${nested}\r\n`);
  add('10,000 headers', `${header(id('headers'))}${Array.from({ length: 10_000 }, (_, i) => `X-Junk-${i}: ${'v'.repeat(20)}`).join('\r\n')}\r\n\r\nbody\r\n`);
  add('one 200 KB header line', `${header(id('longline'))}X-Long: ${'a'.repeat(200_000)}\r\n\r\nbody\r\n`);
  add('NUL bytes in headers and body', `${header(id('nul'))}X-Nul: a\0b\r\n\r\nbody\0with\0nuls\r\n`);
  add('bad base64', multipart(id('b64'), ['Content-Type: text/plain\r\n\r\ntext', 'Content-Type: application/pdf; name="x.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n!!!!not*base64$$$$\r\n====AAAA']));
  add('truncated boundary', `${header(id('trunc'), 'Content-Type: multipart/mixed; boundary="cut"\r\n')}\r\n--cut\r\nContent-Type: text/plain\r\n\r\nthe message ends here without a closing boundary`);
  add('unknown charset', `${header(id('charset'), 'Content-Type: text/plain; charset="x-no-such-charset-9"\r\n')}\r\n\xe9\xe8\xff\xfe text\r\n`);
  add('wrong charset (UTF-8 bytes labelled ISO-2022-JP)', `${header(id('wrongcs'), 'Content-Type: text/plain; charset=ISO-2022-JP\r\n')}\r\n${Buffer.from('Grüße 日本', 'utf8').toString('latin1')}\r\n`);
  add('RFC 2231 continuations and bad percent-encoding', multipart(id('rfc2231'), [
    'Content-Type: text/plain\r\n\r\nsee file',
    `Content-Type: application/octet-stream\r\nContent-Disposition: attachment; filename*0*=utf-8''%E2%82%AC%ZZ; filename*1*=%E2%82; filename*3=orphan\r\nContent-Transfer-Encoding: base64\r\n\r\nAAAA`,
  ]));
  add('encoded-word soup in From and Subject', `From: =?utf-8?B?${'A'.repeat(3000)}?= <=?x?Q?bad?=@example.org>\r\nTo: support@mailgate.local\r\nSubject: =?utf-8?Q?=ZZ=?= =?unknown?B?AAAA?= =?utf-8?B?8J+Ygg==?=\r\nMessage-ID: <${id('ew')}@hostile.example>\r\n\r\nbody\r\n`);
  const bomb = zipArchive([{ name: 'zeros.bin', content: Buffer.alloc(50 * 1024 * 1024) }]);
  add('zip bomb (50 MB of zeros in ~50 KB)', multipart(id('bomb'), ['Content-Type: text/plain\r\n\r\nsee attached', attachment('report.zip', 'application/zip', bomb)]));
  add('many-entry zip', multipart(id('entries'), ['Content-Type: text/plain\r\n\r\nx', attachment('many.zip', 'application/zip', zipArchive(Array.from({ length: 5000 }, (_, i) => ({ name: `f${i}.txt`, content: Buffer.from('x'), method: 'stored' as const }))))]));
  const innerMail = Buffer.from(multipart(id('inner'), ['Content-Type: text/plain\r\n\r\ninner', attachment('tool.zip', 'application/zip', zipArchive([{ name: 'eicar.com', content: EICAR }]))]), 'latin1');
  add('EICAR inside zip inside message/rfc822', multipart(id('eicarnest'), ['Content-Type: text/plain\r\n\r\nforwarded', `Content-Type: message/rfc822\r\n\r\n${innerMail.toString('latin1')}`]));
  const polyglot = Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.from('MZ'), Buffer.alloc(58), Buffer.from([0x80, 0, 0, 0]), Buffer.alloc(64), Buffer.from('PE\0\0')]);
  add('PDF/PE polyglot named invoice.pdf', multipart(id('poly'), ['Content-Type: text/plain\r\n\r\ninvoice', attachment('invoice.pdf', 'application/pdf', polyglot)]));
  add('1,000 tiny parts', multipart(id('parts'), Array.from({ length: 1000 }, (_, i) => `Content-Type: text/plain; name="p${i}.txt"\r\nContent-Disposition: attachment; filename="p${i}.txt"\r\n\r\npart ${i}`)));
  add('HTML with script and event handlers', multipart(id('html'), ['Content-Type: text/html\r\n\r\n<img src=x onerror=alert(1)><script>alert(2)</script><a href="jav&#x09;ascript:alert(3)">x</a>'], 'alternative'));
  add('headers only, no body separator', `${header(id('nobody'))}X-End: yes`);
  add('mbox separator, blank lines and a stray line before the headers', `From fuzz@customer.example Mon Jan  1 00:00:00 2001\r\n\r\n\x01\x01\x01\x01\r\n${header(id('prefix'))}\r\nbody\r\n`);
  add('uuencoded block with mangled lines and no end', `${header(id('uu'))}\r\nbegin 644 ../../x.bin\r\nM${'!'.repeat(60)}\r\nMabc\x00\xff\r\n${'M'.repeat(5000)}\r\n`);
  add('x-uuencode part that holds no uuencoded data', multipart(id('uucte'), ['Content-Type: text/plain\r\n\r\nsee file', `Content-Type: application/octet-stream; name="x.bin"\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\n${'\xff'.repeat(70_000)}`]));
  add('bare LF line endings and a CR-only line', `${header(id('lf')).replace(/\r\n/g, '\n')}\n\rline\rwith\rCRs\n`);
  return cases;
}

function corpusFiles(dirs: string[]): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else if (/\.(eml|txt|msg)$/i.test(name) && statSync(full).size < 2_000_000) out.push(full);
    }
  };
  for (const dir of dirs) walk(dir);
  return out;
}

type Mutation = (raw: Buffer, rnd: () => number) => Buffer;

const MUTATIONS: Record<string, Mutation> = {
  truncate: (raw, rnd) => raw.subarray(0, Math.floor(rnd() * raw.length)),
  flipBytes: (raw, rnd) => {
    const out = Buffer.from(raw);
    for (let i = 0; i < 1 + rnd() * 40; i++) out[Math.floor(rnd() * out.length)] = Math.floor(rnd() * 256);
    return out;
  },
  dropBoundaries: (raw) => Buffer.from(raw.toString('latin1').replace(/^--[^\r\n]+--\s*$/gm, ''), 'latin1'),
  duplicateHeaders: (raw, rnd) => {
    const text = raw.toString('latin1');
    const end = text.search(/\r?\n\r?\n/);
    const head = end > 0 ? text.slice(0, end) : text;
    return Buffer.from(`${head}\r\n${head.split(/\r?\n/).slice(0, 1 + Math.floor(rnd() * 5)).join('\r\n').repeat(50)}${end > 0 ? text.slice(end) : ''}`, 'latin1');
  },
  insertNul: (raw, rnd) => {
    const at = Math.floor(rnd() * raw.length);
    return Buffer.concat([raw.subarray(0, at), Buffer.alloc(1 + Math.floor(rnd() * 16)), raw.subarray(at)]);
  },
  corruptBase64: (raw) => Buffer.from(raw.toString('latin1').replace(/^([A-Za-z0-9+/]{20,})$/gm, (line) => line.replace(/[A-M]/g, '*')), 'latin1'),
  swapCharset: (raw, rnd) => {
    const charsets = ['iso-2022-jp', 'utf-16', 'x-unknown', 'shift_jis', 'koi8-r', 'utf-7', ''];
    return Buffer.from(raw.toString('latin1').replace(/charset="?[^";\s]+"?/gi, `charset=${charsets[Math.floor(rnd() * charsets.length)]}`), 'latin1');
  },
  strayBoundaryInBody: (raw) => Buffer.from(raw.toString('latin1').replace(/\r?\n\r?\n/, '\r\n\r\n--\r\n--x--\r\n'), 'latin1'),
};

/** Fuzzed variants of real fixtures; each gets a fresh Message-ID so none is a duplicate of another. */
export function fuzzCases(options: { corpusDirs: string[]; count: number; seed: number; run: string }): HostileCase[] {
  const files = corpusFiles(options.corpusDirs);
  if (files.length === 0) throw new Error(`no fixtures under ${options.corpusDirs.join(', ')}`);
  const rnd = prng(options.seed);
  const names = Object.keys(MUTATIONS);
  const cases: HostileCase[] = [];
  for (let i = 0; i < options.count; i++) {
    const file = files[Math.floor(rnd() * files.length)]!;
    let raw: Buffer = readFileSync(file);
    const applied: string[] = [];
    for (let m = 0; m < 1 + Math.floor(rnd() * 3); m++) {
      const name = names[Math.floor(rnd() * names.length)]!;
      raw = MUTATIONS[name]!(raw, rnd);
      applied.push(name);
    }
    const unique = `fuzz.${options.run}.${i}@hostile.example`;
    const text = raw.toString('latin1');
    const withId = /^Message-ID:/im.test(text)
      ? text.replace(/^Message-ID:[^\r\n]*/im, `Message-ID: <${unique}>`)
      : `Message-ID: <${unique}>\r\n${text}`;
    cases.push({ name: `${path.basename(file)} ${applied.join('+')} (seed ${options.seed}, case ${i})`, raw: Buffer.from(withId, 'latin1') });
  }
  return cases;
}

export interface HostileOutcome {
  name: string;
  outcome: string;
  detail: string;
}

export async function runHostileSuite(options: {
  fetch: typeof fetch;
  baseUrl: string;
  cases: HostileCase[];
  concurrency: number;
  settleTimeoutMs: number;
  onProgress?: (done: number, total: number) => void;
}): Promise<HostileOutcome[]> {
  const { baseUrl } = options;
  const posted: { name: string; workflowIds: string[]; outcome?: string; detail?: string }[] = [];
  let next = 0;
  const post = async (): Promise<void> => {
    while (next < options.cases.length) {
      const item = options.cases[next++]!;
      try {
        const response = await options.fetch(`${baseUrl}/v1/inbound/mime`, {
          method: 'POST',
          headers: { 'content-type': 'message/rfc822', 'x-envelope-to': 'support@mailgate.local' },
          body: new Uint8Array(item.raw),
        });
        const body = (await response.json().catch(() => ({}))) as { emails?: { workflowId: string }[]; error?: string; reason?: string };
        if (response.status === 202) posted.push({ name: item.name, workflowIds: (body.emails ?? []).map((e) => e.workflowId) });
        else if (response.status >= 400 && response.status < 500) posted.push({ name: item.name, workflowIds: [], outcome: `refused ${response.status}`, detail: body.reason ?? '' });
        else posted.push({ name: item.name, workflowIds: [], outcome: `error ${response.status}`, detail: body.reason ?? '' });
      } catch (error) {
        posted.push({ name: item.name, workflowIds: [], outcome: 'error', detail: error instanceof Error ? error.message : String(error) });
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, post));

  const results: HostileOutcome[] = [];
  const deadline = Date.now() + options.settleTimeoutMs;
  let done = 0;
  for (const item of posted) {
    if (item.outcome) {
      results.push({ name: item.name, outcome: item.outcome, detail: item.detail ?? '' });
      options.onProgress?.(++done, posted.length);
      continue;
    }
    for (const workflowId of item.workflowIds) {
      let outcome = 'stuck';
      let detail = '';
      while (Date.now() < deadline) {
        const response = await options.fetch(`${baseUrl}/v1/emails/${workflowId}`);
        const view = (await response.json()) as { runStatus?: string; state?: { outcome?: string; reasons?: string[]; step?: string; parked?: { step: string; message: string } | null } | null };
        if (view.runStatus === 'RUNNING' && view.state?.outcome === 'parked') {
          outcome = 'parked';
          detail = `${view.state.parked?.step}: ${view.state.parked?.message ?? ''}`.slice(0, 200);
          break;
        }
        if (view.runStatus === 'COMPLETED' && view.state?.outcome) {
          outcome = view.state.outcome;
          detail = (view.state.reasons ?? []).join('; ').slice(0, 200);
          break;
        }
        if (view.runStatus === 'FAILED' || view.runStatus === 'TERMINATED' || view.runStatus === 'TIMED_OUT') {
          outcome = `workflow ${view.runStatus.toLowerCase()}`;
          detail = (view.state?.reasons ?? []).join('; ').slice(0, 200);
          break;
        }
        await new Promise((r) => setTimeout(r, 250));
      }
      results.push({ name: item.name, outcome, detail });
    }
    options.onProgress?.(++done, posted.length);
  }
  return results;
}

/** Outcomes that count as a recorded end state. */
export const RECORDED = new Set(['ticket_created', 'comment_added', 'note_added', 'suppressed', 'rejected', 'parked']);

export function isRecorded(outcome: string): boolean {
  return RECORDED.has(outcome) || /^refused 4\d\d$/.test(outcome);
}
