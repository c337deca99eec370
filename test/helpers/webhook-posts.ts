/** Provider posts as the providers frame them: multipart forms with their exact bytes, JSON, Basic auth. */

export interface Posted {
  status: number;
  body: Record<string, unknown>;
}

export interface FormFileInput {
  field: string;
  name: string;
  type: string;
  content: Buffer;
}

/** A multipart form's wire bytes and Content-Type, framed as fetch frames it (to sign the exact bytes). */
export async function multipart(fields: Record<string, string>, files: FormFileInput[] = []): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  for (const file of files) form.append(file.field, new Blob([file.content], { type: file.type }), file.name);
  const request = new Request('http://127.0.0.1/', { method: 'POST', body: form });
  return { body: Buffer.from(await request.arrayBuffer()), contentType: request.headers.get('content-type') ?? '' };
}

export async function post(url: string, body: Buffer | string | URLSearchParams, headers: Record<string, string> = {}): Promise<Posted> {
  const response = await fetch(url, { method: 'POST', body, headers });
  const text = await response.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  return { status: response.status, body: parsed };
}

export async function postForm(url: string, fields: Record<string, string>, files: FormFileInput[] = [], headers: Record<string, string> = {}): Promise<Posted> {
  const { body, contentType } = await multipart(fields, files);
  return post(url, body, { 'content-type': contentType, ...headers });
}

export function basicAuth(pair: string): string {
  return `Basic ${Buffer.from(pair).toString('base64')}`;
}
