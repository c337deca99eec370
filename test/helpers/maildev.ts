/** Reads what the local SMTP sink (MailDev) received, through its REST API. */
import { eventually } from './stack';

export interface ReceivedMail {
  id: string;
  subject: string;
  messageId: string;
  inReplyTo?: string;
  headers: Record<string, string | string[]>;
  text?: string;
  html?: string;
  to: { address: string }[];
  from: { address: string; name?: string }[];
}

const base = (): string => `http://127.0.0.1:${process.env.MAILDEV_WEB_PORT ?? '1080'}`;

export async function receivedMail(): Promise<ReceivedMail[]> {
  const response = await fetch(`${base()}/email`);
  if (!response.ok) throw new Error(`MailDev answered ${response.status}`);
  return (await response.json()) as ReceivedMail[];
}

/** Waits until mail matching `match` has arrived, then returns all of it. */
export function mailMatching(what: string, match: (mail: ReceivedMail) => boolean, timeoutMs = 15_000): Promise<ReceivedMail[]> {
  return eventually(what, async () => {
    const found = (await receivedMail()).filter(match);
    return found.length > 0 ? found : undefined;
  }, timeoutMs);
}
