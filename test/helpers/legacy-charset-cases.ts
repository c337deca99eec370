/**
 * Synthetic mail with raw 8-bit headers (no RFC 2047 encoded-words) in each legacy charset family:
 * the table the fixtures under test/fixtures/charset/ are written from (its regenerate.ts) and the
 * texts the header-charset tests expect back.
 */
import iconv from 'iconv-lite';

export interface LegacyCharsetCase {
  file: string;
  /** What the bytes are written in (an iconv-lite name). */
  encoding: string;
  /** The Content-Type charset parameter, or null for none (the detector's case). */
  declared: string | null;
  subject: string;
  name: string;
  body: string;
  /** How the headers must be read: by the declaration, or by detection. */
  expectSource: 'declared' | 'detected';
  /** The charset name the record must carry. */
  expectCharset: string;
}

const zh = {
  subject: '关于发票金额的问题',
  name: '张伟',
  body: '您好，我们上周订购的货物还没有收到，请帮忙查一下物流信息。订单号是去年十二月的那一张，谢谢！如果需要更多资料请告诉我。',
};
const tw = {
  subject: '關於發票金額的問題',
  name: '陳大文',
  body: '您好，我們上週訂購的貨物還沒有收到，請幫忙查一下物流資訊。訂單號是去年十二月的那一張，謝謝！如果需要更多資料請告訴我。',
};
const ja = {
  subject: '請求書の金額について',
  name: '山田太郎',
  body: 'お世話になっております。先週注文した商品がまだ届いておりません。お手数ですが配送状況をご確認いただけますでしょうか。よろしくお願いいたします。',
};
const ko = {
  subject: '송장 금액 문의',
  name: '김민수',
  body: '안녕하세요. 지난주에 주문한 상품이 아직 도착하지 않았습니다. 배송 상태를 확인해 주시겠습니까? 감사합니다.',
};
const ru = {
  subject: 'Вопрос по счёту',
  name: 'Иван Петров',
  body: 'Здравствуйте! Мы до сих пор не получили заказ, оформленный на прошлой неделе. Пожалуйста, проверьте статус доставки. Спасибо.',
};
const pl = {
  subject: 'Zażółć gęślą jaźń - faktura',
  name: 'Łukasz Wróbel',
  body: 'Dzień dobry, zamówienie złożone w zeszłym tygodniu jeszcze do nas nie dotarło. Proszę sprawdzić status przesyłki. Dziękuję.',
};
const cz = {
  subject: 'Dotaz k faktuře č. 42',
  name: 'Jiří Novák',
  body: 'Dobrý den, zboží objednané minulý týden stále nedorazilo. Prosím o kontrolu stavu zásilky. Děkuji.',
};
const fr = {
  subject: 'Réclamation : colis non reçu',
  name: 'Hélène Dupré',
  body: "Bonjour, la commande passée la semaine dernière n'est toujours pas arrivée. Pourriez-vous vérifier l'état de la livraison ? Merci.",
};
const de = {
  subject: 'Grüße aus Köln – „Lieferung“',
  name: 'Jürgen Müller',
  body: 'Guten Tag, die letzte Woche bestellte Ware ist noch nicht angekommen. Könnten Sie bitte den Lieferstatus prüfen? Grüße',
};
const el = {
  subject: 'Ερώτηση για τιμολόγιο',
  name: 'Γιώργος Παπαδόπουλος',
  body: 'Καλημέρα, η παραγγελία της περασμένης εβδομάδας δεν έχει φτάσει ακόμα. Παρακαλώ ελέγξτε την κατάσταση αποστολής.',
};
const ar = {
  subject: 'استفسار عن الفاتورة',
  name: 'أحمد علي',
  body: 'مرحبا، لم يصل الطلب الذي قدمناه الأسبوع الماضي حتى الآن. يرجى التحقق من حالة الشحن. شكرا.',
};
const euro = { subject: 'Facture de 50 € - Œuvre', name: 'Chloé Lefèvre', body: 'Bonjour, la facture de 50 € est jointe. Merci.' };

/** The texts the special fixtures are written from. */
export const TEXTS = { zh, tw, ja, ko, ru, pl, cz, fr, de, el, ar, euro };

const declared = (encoding: string, charset: string, text: typeof zh, expectCharset: string): LegacyCharsetCase => ({
  file: `${charset.toLowerCase()}-declared.eml`,
  encoding,
  declared: charset,
  ...text,
  expectSource: 'declared',
  expectCharset,
});
const undeclared = (encoding: string, text: typeof zh, expectCharset: string): LegacyCharsetCase => ({
  file: `${encoding}-undeclared.eml`,
  encoding,
  declared: null,
  ...text,
  expectSource: 'detected',
  expectCharset,
});

export const LEGACY_CHARSET_CASES: LegacyCharsetCase[] = [
  declared('gbk', 'GB2312', zh, 'GBK'),
  declared('gbk', 'GBK', zh, 'GBK'),
  declared('gb18030', 'GB18030', { ...zh, subject: `${zh.subject} €` }, 'gb18030'),
  declared('big5', 'Big5', tw, 'Big5'),
  declared('shift_jis', 'Shift_JIS', ja, 'Shift_JIS'),
  declared('euc-jp', 'EUC-JP', ja, 'EUC-JP'),
  declared('euc-kr', 'EUC-KR', ko, 'EUC-KR'),
  declared('iso-8859-1', 'ISO-8859-1', fr, 'windows-1252'),
  declared('iso-8859-2', 'ISO-8859-2', pl, 'ISO-8859-2'),
  declared('iso-8859-5', 'ISO-8859-5', ru, 'ISO-8859-5'),
  declared('iso-8859-7', 'ISO-8859-7', el, 'ISO-8859-7'),
  declared('iso-8859-15', 'ISO-8859-15', euro, 'ISO-8859-15'),
  declared('koi8-r', 'KOI8-R', ru, 'KOI8-R'),
  declared('windows-1250', 'windows-1250', cz, 'windows-1250'),
  declared('windows-1251', 'windows-1251', ru, 'windows-1251'),
  declared('windows-1252', 'windows-1252', de, 'windows-1252'),
  declared('windows-1256', 'windows-1256', ar, 'windows-1256'),
  undeclared('gbk', zh, 'GB18030'),
  undeclared('big5', tw, 'Big5'),
  undeclared('shift_jis', ja, 'Shift_JIS'),
  undeclared('euc-jp', ja, 'EUC-JP'),
  undeclared('euc-kr', ko, 'EUC-KR'),
  undeclared('koi8-r', ru, 'KOI8-R'),
  undeclared('windows-1251', ru, 'windows-1251'),
  undeclared('iso-8859-2', pl, 'ISO-8859-2'),
  undeclared('iso-8859-7', el, 'ISO-8859-7'),
  undeclared('windows-1252', de, 'windows-1252'),
];

/** The message for a case: raw 8-bit Subject, From name and body in the case's charset. */
export function legacyCharsetMessage(c: LegacyCharsetCase): Buffer {
  const contentType = c.declared ? `text/plain; charset=${c.declared}` : 'text/plain';
  const lines = [
    `From: "${c.name}" <sender@example.net>`,
    'To: support@mailgate.local',
    `Subject: ${c.subject}`,
    'Date: Mon, 07 Dec 2026 10:00:00 +0000',
    `Message-ID: <${c.file.replace(/\.eml$/, '')}@example.net>`,
    'MIME-Version: 1.0',
    `Content-Type: ${contentType}`,
    'Content-Transfer-Encoding: 8bit',
    '',
    c.body,
    '',
  ];
  return iconv.encode(lines.join('\r\n'), c.encoding);
}

const crlf = (lines: (string | Buffer)[]): Buffer =>
  Buffer.concat(lines.flatMap((line) => [typeof line === 'string' ? Buffer.from(line, 'latin1') : line, Buffer.from('\r\n')]));
const bytes = (text: string, encoding: string): Buffer => iconv.encode(text, encoding);
const header = (name: string, value: Buffer): Buffer => Buffer.concat([Buffer.from(`${name}: `), value]);
const common = (id: string): string[] => ['Date: Mon, 07 Dec 2026 10:00:00 +0000', `Message-ID: <${id}@example.net>`, 'MIME-Version: 1.0'];

/** Messages for the rules around the table's cases; each is described where a test reads it. */
export const SPECIAL_FIXTURES: Record<string, () => Buffer> = {
  // multipart/mixed > multipart/alternative > text/plain; charset=big5: the declaration is the first text part's.
  'multipart-big5.eml': () =>
    crlf([
      header('From', bytes(`"${tw.name}" <chen@example.tw>`, 'big5')),
      'To: support@mailgate.local',
      header('Subject', bytes(tw.subject, 'big5')),
      ...common('multipart-big5'),
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      '--outer',
      'Content-Type: multipart/alternative; boundary="inner"',
      '',
      '--inner',
      'Content-Type: text/plain; charset=big5',
      'Content-Transfer-Encoding: base64',
      '',
      bytes(tw.body, 'big5').toString('base64'),
      '--inner',
      'Content-Type: text/html; charset=big5',
      'Content-Transfer-Encoding: base64',
      '',
      bytes(`<p>${tw.body}</p>`, 'big5').toString('base64'),
      '--inner--',
      '--outer',
      'Content-Type: application/octet-stream; name="a.bin"',
      'Content-Transfer-Encoding: base64',
      '',
      'AAEC',
      '--outer--',
    ]),
  // An encoded-word in UTF-8 followed by raw GBK text in one Subject, in a GBK message.
  'mixed-encoded-word-gbk.eml': () =>
    crlf([
      header('From', Buffer.concat([Buffer.from('=?UTF-8?B?5a6i5pyN?= '), bytes(zh.name, 'gbk'), Buffer.from(' <zhang@example.cn>')])),
      'To: support@mailgate.local',
      header('Subject', Buffer.concat([Buffer.from('=?UTF-8?B?W+W3peWNlV0=?= '), bytes(zh.subject, 'gbk')])),
      ...common('mixed-encoded-word-gbk'),
      'Content-Type: text/plain; charset=gbk',
      'Content-Transfer-Encoding: 8bit',
      '',
      bytes(zh.body, 'gbk'),
    ]),
  // Shift_JIS names in every address header; ソ and 表 end in byte 0x5C, an ASCII backslash.
  'shift_jis-addresses.eml': () =>
    crlf([
      header('From', bytes('"ソニー 表" <sony@example.jp>', 'shift_jis')),
      header('To', bytes('サポート窓口 <support@mailgate.local>', 'shift_jis')),
      header('Cc', bytes('"山田 太郎" <taro@example.jp>, 佐藤花子 <hanako@example.jp>', 'shift_jis')),
      header('Reply-To', bytes('"ソニー 表 返信" <reply@example.jp>', 'shift_jis')),
      header('Subject', bytes('表示ソフトの不具合', 'shift_jis')),
      ...common('shift_jis-addresses'),
      'Content-Type: text/plain; charset=Shift_JIS',
      'Content-Transfer-Encoding: 8bit',
      '',
      bytes(ja.body, 'shift_jis'),
    ]),
  // No declaration, an ASCII body and a four-character GBK subject: too little for the detector.
  'gbk-short-undeclared.eml': () =>
    crlf([
      'From: sender@example.net',
      'To: support@mailgate.local',
      header('Subject', bytes('丂乗问题', 'gbk')),
      ...common('gbk-short-undeclared'),
      'Content-Type: text/plain',
      '',
      'Hello, see subject.',
    ]),
  // The body says UTF-8, but the mailer wrote headers and body in GBK.
  'utf8-declared-gbk.eml': () =>
    crlf([
      header('From', bytes(`"${zh.name}" <zhang@example.cn>`, 'gbk')),
      'To: support@mailgate.local',
      header('Subject', bytes(zh.subject, 'gbk')),
      ...common('utf8-declared-gbk'),
      'Content-Type: text/plain; charset=utf-8',
      'Content-Transfer-Encoding: 8bit',
      '',
      bytes(zh.body, 'gbk'),
    ]),
  // A French ISO-8859-1 body, a Shift_JIS subject: the single-byte declaration is believed.
  'latin1-declared-sjis-subject.eml': () =>
    crlf([
      header('From', bytes(`"${fr.name}" <helene@example.fr>`, 'iso-8859-1')),
      'To: support@mailgate.local',
      header('Subject', bytes(ja.subject, 'shift_jis')),
      ...common('latin1-declared-sjis-subject'),
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: 8bit',
      '',
      bytes(fr.body, 'iso-8859-1'),
    ]),
  // Raw UTF-8 headers (RFC 6532) in a message whose body declares ISO-8859-1.
  'utf8-headers-latin1-body.eml': () =>
    crlf([
      header('From', Buffer.from('"Jürgen Müller" <juergen@example.de>')),
      'To: support@mailgate.local',
      header('Subject', Buffer.from('Grüße – 東京')),
      header('X-Note', Buffer.from('naïve')),
      ...common('utf8-headers-latin1-body'),
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: 8bit',
      '',
      bytes(de.body, 'iso-8859-1'),
    ]),
  // Japanese in ISO-2022-JP escape sequences straight in the Subject, without encoded-words.
  'iso-2022-jp-raw-subject.eml': () =>
    crlf([
      'From: taro@example.jp',
      'To: support@mailgate.local',
      header('Subject', Buffer.from('\u001b$B@A5a=q$N6b3[\u001b(B', 'latin1')),
      ...common('iso-2022-jp-raw-subject'),
      'Content-Type: text/plain; charset=ISO-2022-JP',
      '',
      'body',
    ]),
};
