/**
 * Writes small TNEF containers (MS-OXTNEF) for tests: attachments with a title, a MAPI long file name
 * and a MIME tag, a text body, and the hand-made damage hostile senders produce.
 */

function attribute(level: number, id: number, data: Buffer): Buffer {
  const head = Buffer.alloc(9);
  head.writeUInt8(level, 0);
  head.writeUInt32LE(id, 1);
  head.writeUInt32LE(data.length, 5);
  const checksum = Buffer.alloc(2);
  checksum.writeUInt16LE(data.reduce((sum, b) => (sum + b) & 0xffff, 0), 0);
  return Buffer.concat([head, data, checksum]);
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value, 0);
  return b;
}

function padded(data: Buffer): Buffer {
  return Buffer.concat([data, Buffer.alloc((4 - (data.length % 4)) % 4)]);
}

/** One variable-length MAPI property (PT_UNICODE 0x001F, PT_STRING8 0x001E or PT_BINARY 0x0102). */
function variableProp(type: number, id: number, value: Buffer): Buffer {
  const tag = Buffer.alloc(4);
  tag.writeUInt16LE(type, 0);
  tag.writeUInt16LE(id, 2);
  return Buffer.concat([tag, u32(1), u32(value.length), padded(value)]);
}

export interface TnefAttachment {
  title: string;
  longName?: string;
  mimeTag?: string;
  data: Buffer;
}

export function tnefAttachment(a: TnefAttachment): Buffer[] {
  const props = [variableProp(0x001f, 0x3707, Buffer.from(`${a.longName ?? a.title}\0`, 'utf16le'))];
  if (a.mimeTag) props.push(variableProp(0x001e, 0x370e, Buffer.from(`${a.mimeTag}\0`, 'latin1')));
  return [
    attribute(2, 0x00069002, Buffer.alloc(14)),
    attribute(2, 0x00018010, Buffer.from(`${a.title}\0`, 'latin1')),
    attribute(2, 0x0006800f, a.data),
    attribute(2, 0x00069005, Buffer.concat([u32(props.length), ...props])),
  ];
}

/** A message-level attMsgProps attribute holding one PT_BINARY property (e.g. 0x1009, PR_RTF_COMPRESSED). */
export function tnefMessageBinaryProp(id: number, value: Buffer): Buffer {
  return attribute(1, 0x00069003, Buffer.concat([u32(1), variableProp(0x0102, id, value)]));
}

export function tnefBody(text: string): Buffer {
  return attribute(1, 0x0002800c, Buffer.from(text, 'latin1'));
}

export function tnef(records: Buffer[]): Buffer {
  const start = Buffer.alloc(6);
  start.writeUInt32LE(0x223e9f78, 0);
  start.writeUInt16LE(0x0001, 4);
  return Buffer.concat([start, ...records]);
}

/** A message-level attMsgProps attribute whose property count claims far more than it holds. */
export function hugePropertyCount(): Buffer {
  return attribute(1, 0x00069003, u32(0x7fffffff));
}

/** An attribute whose length field points past the end of the container. */
export function lengthPastEnd(): Buffer {
  const record = attribute(2, 0x0006800f, Buffer.from('short'));
  record.writeUInt32LE(0x40000000, 5);
  return record;
}

/** A mail carrying `data` as winmail.dat, with or without a text part of its own. */
export function winmailMessage(data: Buffer, options: { text?: string; subject?: string } = {}): string {
  const b64 = data.toString('base64').replace(/(.{76})/g, '$1\r\n');
  const textPart = options.text === undefined ? '' : `--w\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${options.text}\r\n`;
  return (
    `From: Ann <ann@customer.example>\r\nTo: support@mailgate.local\r\nSubject: ${options.subject ?? 'winmail'}\r\n` +
    `MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="w"\r\n\r\n${textPart}` +
    `--w\r\nContent-Type: application/ms-tnef; name="winmail.dat"\r\nContent-Disposition: attachment; filename="winmail.dat"\r\n` +
    `Content-Transfer-Encoding: base64\r\n\r\n${b64}\r\n--w--\r\n`
  );
}
