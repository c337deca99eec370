/**
 * A provider's form post (multipart/form-data or application/x-www-form-urlencoded), parsed from
 * bytes already read under the wire cap. busboy's own caps hold as well: a part count, a field
 * count, a field and a file size; a form that passes any of them is refused as a whole rather than
 * taken truncated (a cut body-mime would be a different email). The total is bounded by the wire
 * cap, so many small files cannot add up past it.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import busboy from 'busboy';

export interface FormFile {
  field: string;
  filename: string;
  contentType: string;
  content: Buffer;
}

/**
 * Field values are the bytes posted (a raw message keeps its 8-bit bytes whatever its charset);
 * `text` reads one as UTF-8, which Mailgun and SendGrid post their parsed fields in.
 */
export interface Form {
  fields: Map<string, Buffer>;
  files: FormFile[];
}

export function text(form: Form, name: string): string | undefined {
  return form.fields.get(name)?.toString('utf8');
}

export interface FormLimits {
  /** Largest single field or file (the message cap: body-mime and `email` are fields). */
  maxValueBytes: number;
  /** Most parts, fields and files together. */
  maxParts: number;
}

export type FormResult = { ok: true; form: Form } | { ok: false; reason: string };

/** Fields and files a provider posts for one email stay well below this; attachments are counted too. */
export const DEFAULT_MAX_FORM_PARTS = 1_000;

export function isForm(contentType: string | undefined): boolean {
  return /^\s*(multipart\/form-data|application\/x-www-form-urlencoded)\s*(;|$)/i.test(contentType ?? '');
}

export function parseForm(bytes: Buffer, contentType: string, limits: FormLimits): Promise<FormResult> {
  return new Promise((resolve) => {
    const fields = new Map<string, Buffer>();
    const files: FormFile[] = [];
    let settled = false;
    const fail = (reason: string): void => {
      if (settled) return;
      settled = true;
      resolve({ ok: false, reason });
    };
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: { 'content-type': contentType },
        // latin1 maps each byte to one character and back: the values are turned back into their bytes.
        defCharset: 'latin1',
        defParamCharset: 'utf8',
        limits: {
          fieldSize: limits.maxValueBytes,
          fileSize: limits.maxValueBytes,
          parts: limits.maxParts,
          fields: limits.maxParts,
          files: limits.maxParts,
          fieldNameSize: 200,
          headerPairs: 100,
        },
      });
    } catch (error) {
      fail(`the form cannot be read: ${(error as Error).message}`);
      return;
    }
    parser.on('field', (name, value, info) => {
      if (info.valueTruncated || info.nameTruncated) fail(`form field ${name.slice(0, 50)} exceeds ${limits.maxValueBytes} bytes`);
      // The first of a repeated field counts, as with a query string.
      // A part that names its own charset is decoded with it by busboy; such a value (any character
      // past U+00FF) goes back to bytes as UTF-8.
      else if (!fields.has(name)) fields.set(name, Buffer.from(value, /[\u0100-\uffff]/.test(value) ? 'utf8' : 'latin1'));
    });
    parser.on('file', (field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => fail(`form file ${field.slice(0, 50)} exceeds ${limits.maxValueBytes} bytes`));
      stream.on('end', () => files.push({ field, filename: info.filename ?? field, contentType: info.mimeType || 'application/octet-stream', content: Buffer.concat(chunks) }));
    });
    parser.on('partsLimit', () => fail(`the form has more than ${limits.maxParts} parts`));
    parser.on('fieldsLimit', () => fail(`the form has more than ${limits.maxParts} fields`));
    parser.on('filesLimit', () => fail(`the form has more than ${limits.maxParts} files`));
    parser.on('error', (error: Error) => fail(`the form cannot be read: ${error.message}`));
    parser.on('close', () => {
      if (!settled) {
        settled = true;
        resolve({ ok: true, form: { fields, files } });
      }
    });
    Readable.from([bytes]).pipe(parser);
  });
}

/**
 * A hash of what the form says, not of how it was framed: the multipart boundary differs between
 * two posts of one email, and fields in `skip` (a signature, a timestamp) may too.
 */
export function formSeed(form: Form, skip: ReadonlySet<string> = new Set()): string {
  const hash = createHash('sha256');
  for (const [name, value] of [...form.fields].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!skip.has(name)) hash.update(`${name}\0`).update(value).update('\0');
  }
  for (const file of form.files) hash.update(`${file.field}\0${file.filename}\0`).update(file.content).update('\0');
  return hash.digest('hex');
}
