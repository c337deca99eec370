/**
 * What the parse learns about a message's form while its parts stream past (signatures, encryption,
 * invitations, a winmail.dat body, containers unpacked or not), and what that does to the text the
 * ticket shows once the parse is done: an encrypted message's text says it cannot be read, an
 * invitation is appended as a few lines, and every finding becomes a note for the ticket.
 */
import type { Unpacked } from './containers';
import { isUnreadable, protectionNote, protectionOfText, unreadableText, type Protection } from './signed-encrypted';

/** Notes kept for the ticket; each names one finding, so more than this repeats itself. */
export const MAX_NOTES = 20;

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export class Findings {
  private readonly notes: string[] = [];
  private readonly calendars: string[] = [];
  private readonly calendarSha = new Set<string>();
  private body: string | null = null;
  /** Each protection found, with the attachment that holds the signature or ciphertext. */
  private readonly protections = new Map<Protection, string>();

  note(text: string): void {
    this.notes.push(text);
  }

  protection(protection: Protection, filename: string, contentType: string): void {
    // PGP/MIME's ciphertext is the octet-stream part, not the "Version: 1" part before it.
    if (!this.protections.has(protection) || contentType === 'application/octet-stream') this.protections.set(protection, filename);
  }

  unpacked(result: Unpacked, sha256: string): void {
    this.notes.push(...result.notes);
    // Invitations often come twice (text/calendar in the alternative, the same .ics attached).
    if (result.calendarText && !this.calendarSha.has(sha256)) this.calendars.push(result.calendarText);
    this.calendarSha.add(sha256);
    if (result.body && this.body === null) this.body = result.body;
  }

  /**
   * The text and html the ticket shows, and the notes. `topLevel` is false for a forwarded message
   * parsed inside another: its protection is not this email's.
   */
  finish(text: string, html: string | null, topLevel: boolean): { text: string; html: string | null; notes: string[] } {
    if (topLevel) {
      const inline = protectionOfText(text);
      if (inline && !this.protections.has(inline)) this.protections.set(inline, '');
      for (const protection of this.protections.keys()) this.notes.push(protectionNote(protection));
      const unreadable = [...this.protections].find(([p]) => isUnreadable(p));
      if (unreadable && !text.trim()) text = unreadableText(unreadable[0], unreadable[1] || null);
    }
    // The body inside a winmail.dat is the message's text when the message itself has none.
    if (!text.trim() && this.body) text = this.body;
    if (this.calendars.length > 0) {
      const block = this.calendars.join('\n\n');
      text = text.trim() ? `${text.trimEnd()}\n\n${block}` : block;
      if (html !== null) html = `${html}<pre>${escapeHtml(block)}</pre>`;
    }
    return { text, html, notes: this.notes.slice(0, MAX_NOTES) };
  }
}
