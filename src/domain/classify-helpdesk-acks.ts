/**
 * Two kinds of robot mail that mark themselves mostly in their words, not their headers (issue 14,
 * class 6): challenge-response sender verification ("please verify you are a human, then your message
 * will be delivered") and the acknowledgements of other helpdesks ("Request received: …",
 * "[Ticket#1234] …"). Answered with an acknowledgement, either can ping-pong with us.
 *
 * Words are weak evidence: a customer writes "Re: [Ticket#1234] my printer still jams", or asks how to
 * "verify you are human". So signals are counted in two kinds, and only a mix decides:
 *   content      the subject (an acknowledgement phrase, a foreign ticket tag, a verification phrase)
 *                and the body's own text (quoted and forwarded parts cut off)
 *   non-content  a robot-like sender, a helpdesk's or challenge system's header, a direct reply to
 *                our own mail (the other system answering our acknowledgement: the loop itself)
 * Strong (content and non-content together) → auto_reply, a tier of its own. Enough to doubt but not
 * to decide (`suspect`) → the mail stays human and opens its ticket, but is not acknowledged: a
 * customer misread this way loses only the automatic acknowledgement, while the loop is broken.
 * A subject that opens with a reply or forward prefix is a person's reply; its subject says nothing.
 */
import { domainOf } from './addresses';
import { headerValues } from './classify-headers';
import { outOfOfficePhrase } from './classify-phrases';
import type { EmailDocument } from './email';
import { opensWithReplyPrefix } from './subject-normalise';

export interface RobotReplyFindings {
  /** Strong: the tier decides auto_reply. */
  decided: boolean;
  /** Doubt without proof: human, but not acknowledged. */
  suspect: boolean;
  /** Out-of-office phrase behind a foreign ticket tag ("[rt.example #12] AutoReply: …"): weak auto_reply. */
  taggedAutoReplyPhrase: string | null;
  evidence: string[];
}

export interface RobotReplyContext {
  isOwnMessageId(messageId: string): boolean;
}

/** The body's own text: scanned from the top, and only this much (acknowledgements are short). */
const MAX_OWN_TEXT = 4000;

// ---- shared signals -------------------------------------------------------------------------------

/** Where a reply's quoted or forwarded part starts: what follows is somebody else's text. */
const QUOTE_START = new RegExp(
  [
    String.raw`^\s*>`,
    String.raw`^.{0,200}\b(?:wrote|schrieb|a écrit|escribió|ha scritto|skrev|schreef|napisał|написал)\s*:\s*$`,
    String.raw`^\s*-{2,}\s*(?:original message|forwarded message|ursprüngliche nachricht|weitergeleitete nachricht|message d'origine|message transféré|mensaje original|messaggio originale)`,
    String.raw`^\s*(?:from|von|de|da|van|från|fra):\s.*\n\s*(?:sent|date|gesendet|datum|envoyé|enviado|inviato|verzonden|skickat|sendt):`,
    String.raw`^\s*_{10,}\s*$`,
  ].join('|'),
  'imu',
);

export function ownText(text: string): string {
  const head = text.slice(0, MAX_OWN_TEXT * 2);
  const cut = QUOTE_START.exec(head);
  return (cut ? head.slice(0, cut.index) : head).slice(0, MAX_OWN_TEXT);
}

/** Local parts that a helpdesk or verification robot sends from (beyond the sender tier's no-reply family). */
const ROBOT_LOCAL_PART =
  /^(?:support|helpdesk|help-?desk|help|service-?desk|servicedesk|tickets?|cases?|customer-?(?:service|care|support)|service|care|notifications?|notify|auto-?reply|auto-?responder|autoresponse|robot|bot|system|confirm|verify|verification|challenge|requests?|incidents?)(?:[-_.+].*)?$/;

function robotSender(doc: EmailDocument): string | null {
  const address = doc.from?.address.toLowerCase() ?? '';
  const at = address.lastIndexOf('@');
  const local = at >= 0 ? address.slice(0, at) : address;
  const match = ROBOT_LOCAL_PART.exec(local);
  return match ? local.split(/[-_.+]/)[0] ?? local : null;
}

function repliesToOurMail(doc: EmailDocument, ctx: RobotReplyContext): boolean {
  return doc.inReplyTo.some((id) => ctx.isOwnMessageId(id));
}

// ---- challenge-response --------------------------------------------------------------------------

/** Headers that challenge-response services put on their challenges. */
const CHALLENGE_HEADER = /^x-(?:boxbe|challenge|spamarrest|mailsnare|tmda|bluebottle|choicemail|sender-verification)/;
/** Domains that send challenges on their users' behalf. */
const CHALLENGE_DOMAINS = ['boxbe.com', 'spamarrest.com', 'mailsnare.net', 'mailsnare.com', 'sanebox.com', 'bluebottle.com'];
const CHALLENGE_SUBJECT =
  /\b(?:verify (?:your|this) (?:e-?mail|message|address|identity)|sender verification|(?:please )?confirm (?:your|this) (?:e-?mail|message)(?! address change)|verification (?:required|needed|request)|awaiting (?:your )?(?:verification|confirmation)|guest list|spam ?arrest|boxbe|mailsnare|challenge[- ]response)\b/iu;
const CHALLENGE_BODY =
  /\b(?:verify (?:that )?you are (?:a )?(?:human|real person|person|not a (?:robot|machine|spammer|computer))|prove (?:that )?you are (?:a )?(?:human|real person|not a (?:robot|spammer))|(?:click|follow|visit|open) (?:on )?(?:the|this) (?:link|url|address|button) below to (?:confirm|verify|complete|approve|release)|(?:your|this) (?:message|e-?mail) (?:is|has been|was|will be) (?:held|quarantined|queued|kept|put on hold|placed on hold)(?: for| until| pending)|will (?:only )?be delivered (?:once|after|when|if) you (?:verify|confirm|complete|reply)|(?:i|we) (?:use|am using|are using) (?:a |an )?(?:challenge|sender verification|spam (?:protection|filter)|anti-?spam)|challenge[- ]response|sender verification|(?:approved|allowed|accepted|trusted) senders? list|(?:added|add you) to (?:my|the|our) (?:approved|allowed|trusted|white) ?(?:list|senders)|one-time (?:verification|confirmation))\b/iu;

function challengeSignals(
  doc: EmailDocument,
  text: string,
  robot: boolean,
  toOurMail: boolean,
  personReplied: boolean,
): { decided: boolean; suspect: boolean; evidence: string[] } {
  const evidence: string[] = [];
  const header = Object.keys(doc.headers).find((name) => CHALLENGE_HEADER.test(name));
  if (header) evidence.push(`challenge:header=${header}`);
  const domain = doc.from ? domainOf(doc.from.address.toLowerCase()) : '';
  const viaService = CHALLENGE_DOMAINS.find((d) => domain === d || domain.endsWith(`.${d}`));
  if (viaService) evidence.push(`challenge:domain=${viaService}`);
  const subject = CHALLENGE_SUBJECT.exec(doc.subject.normalize('NFC'))?.[0];
  if (subject) evidence.push(`challenge:subject=${subject.toLowerCase()}`);
  const body = CHALLENGE_BODY.exec(text)?.[0];
  if (body) evidence.push(`challenge:body=${body.toLowerCase().replace(/\s+/g, ' ')}`);
  // A service's own header or domain is the service speaking: that alone decides. Otherwise the words
  // need a robot's address, or a verification subject on a direct answer to our mail; a person who
  // answers us and quotes a site's "verify you are a human" stays human (only unacknowledged).
  const decided =
    header !== undefined || viaService !== undefined || (body !== undefined && (robot || (subject !== undefined && toOurMail)));
  // Words alone in a person's reply ("Re: …") are that person's words: nothing to doubt.
  const suspect = !decided && ((body !== undefined && !personReplied) || (subject !== undefined && (robot || toOurMail)));
  return { decided, suspect, evidence };
}

// ---- other helpdesks' acknowledgements ------------------------------------------------------------

/** A foreign ticket tag: OTRS/Znuny "[Ticket#…]", RT "[host #123]", Zoho "[##123##]", "[#12345]", "[Case 0001234]", "[SR-42]". Our own "[MG-…]" is not foreign. */
const TICKET_TAG =
  /^\s*(?:\[(?!MG-\d)(?:ticket\s*#?\s*:?\s*\d+|#\s*\d{3,}|##\s*\d+\s*##|[\w.-]+ #\d+|(?:case|request|req|incident|inc|sr|cs|ref|id)\s*[:#-]?\s*(?:id\s*:?\s*)?[#\w-]*\d{3,}[\w-]*|request id\s*:\s*##[\w-]+##)\]|\((?:case|ticket)\s*#?\s*\d{3,}\))/iu;
/** Acknowledgement openers of helpdesks (Zendesk, Freshdesk, osTicket, Help Scout, Jira SM, German and French variants). */
const ACK_SUBJECT =
  /^\s*(?:request received|ticket received|(?:support |new )?(?:ticket|case|request) (?:created|opened|logged|submitted|received)|support ticket opened|we(?:'ve| have) received your (?:request|message|e-?mail|enquiry|inquiry|ticket)|your (?:request|ticket|case|message|enquiry|inquiry)(?:\s*\(?#?\s*[\w-]*\d[\w-]*\)?)? (?:has been|was) (?:received|created|logged|opened|submitted)|thank(?:s| you) for (?:contacting|your (?:e-?mail|message|request|enquiry|inquiry))|confirmation of (?:your )?(?:request|ticket)|anfrage (?:erhalten|eingegangen)|ihre anfrage (?:ist eingegangen|wurde (?:erfasst|empfangen))|eingangsbestätigung|demande reçue|accusé de réception|votre demande a (?:bien )?été (?:reçue|enregistrée))\b/iu;
/** A helpdesk declaring itself automatic, at the start of a line or sentence. */
const AUTOMATION_BODY =
  /(?:^|[.!?]\s+)\W{0,3}(?:this (?:is an? |message is an? |e-?mail is an? |is an? )?automat(?:ed|ic|ically generated|ically sent)(?: e-?mail)? ?(?:response|reply|message|notification|acknowledge?ment|confirmation|e-?mail)|(?:please )?do not reply (?:to|directly to) this (?:e-?mail|message)|this (?:message|e-?mail|response) (?:has been|was) automatically (?:generated|sent|created)|##- ?please type your reply above this line ?-##|please (?:type|write|reply) (?:your reply )?above this line|this mailbox is not monitored|diese (?:e-?mail|nachricht) wurde automatisch (?:erstellt|generiert|versendet)|ceci est (?:un message|une réponse) automatique)/imu;
const ACK_BODY =
  /\b(?:we(?:'ve| have) received your (?:request|message|e-?mail|enquiry|inquiry|ticket|support request)|your (?:request|ticket|case|enquiry|inquiry|message) (?:\(?#?[\w-]*\d[\w-]*\)? )?(?:has been|was) (?:received|logged|created|opened|assigned)|your (?:ticket|case|request|reference) (?:number|id|no\.?) is|(?:a )?(?:request for support|support request|ticket|case) has been (?:created|opened|received|logged)|has been assigned (?:an? )?(?:id|number|reference|ticket)|(?:a|one of our) (?:member of our|support|customer service|service desk) (?:team|agents?|representatives?|staff|engineers?) will|will (?:get back to|respond to|contact|reply to) you (?:shortly|soon|as soon as|within)|to add (?:additional |more )?(?:comments|information),? (?:simply )?reply to this|wir haben ihre (?:anfrage|nachricht|e-?mail) erhalten|nous avons (?:bien )?reçu votre (?:demande|message))\b/iu;
/** Software of helpdesks, as it names itself in headers on every mail it sends (agents' replies too). */
const HELPDESK_HEADER = /^(?:x-(?:zendesk|freshdesk|otrs|znuny|osticket|rt-|zammad|helpscout|kayako|servicenow|jira-fingerprint|jsd-|deskpro|happyfox|spiceworks|sdp-)|rt-ticket|rt-originator)/;
const HELPDESK_MAILER = /\b(?:zendesk|freshdesk|otrs|znuny|osticket|request tracker|zammad|help ?scout|kayako|servicenow|jira service|deskpro|happyfox|spiceworks|servicedesk plus|freescout)\b/i;

function helpdeskHeader(doc: EmailDocument): string | null {
  const name = Object.keys(doc.headers).find((h) => HELPDESK_HEADER.test(h));
  if (name) return name;
  const mailer = [...headerValues(doc, 'x-mailer'), ...headerValues(doc, 'user-agent')].find((v) => HELPDESK_MAILER.test(v));
  return mailer ? `x-mailer=${HELPDESK_MAILER.exec(mailer)?.[0]?.toLowerCase() ?? ''}` : null;
}

function leadingTags(subject: string): { tags: string[]; rest: string } {
  const tags: string[] = [];
  let rest = subject;
  for (let match = TICKET_TAG.exec(rest); match && tags.length < 5; match = TICKET_TAG.exec(rest)) {
    tags.push(match[0].trim());
    rest = rest.slice(match[0].length);
  }
  return { tags, rest };
}

// ---- both ------------------------------------------------------------------------------------------

export function robotReplyFindings(doc: EmailDocument, ctx: RobotReplyContext): RobotReplyFindings {
  const text = ownText(doc.text);
  const nonContent: string[] = [];
  const robot = robotSender(doc);
  if (robot) nonContent.push(`robot-sender:local-part=${robot}`);
  const software = helpdeskHeader(doc);
  if (software) nonContent.push(`helpdesk:header=${software}`);
  const toOurMail = repliesToOurMail(doc, ctx);
  if (toOurMail) nonContent.push('replies-to-our-mail');

  const subject = doc.subject.normalize('NFC');
  const personReplied = opensWithReplyPrefix(subject);
  const challenge = challengeSignals(doc, text, robot !== null, toOurMail, personReplied);

  const evidence: string[] = [];
  const { tags, rest } = personReplied ? { tags: [], rest: subject } : leadingTags(subject);
  const ackPhrase = personReplied ? undefined : ACK_SUBJECT.exec(rest)?.[0];
  const taggedAutoReplyPhrase = tags.length > 0 ? outOfOfficePhrase(rest) : null;
  if (tags[0]) evidence.push(`helpdesk:ticket-tag=${tags[0]}`);
  if (ackPhrase) evidence.push(`helpdesk:subject=${ackPhrase.trim().toLowerCase()}`);
  const automation = AUTOMATION_BODY.exec(text)?.[0];
  if (automation) evidence.push(`helpdesk:body=${automation.replace(/^[\s\W]+/u, '').toLowerCase().replace(/\s+/g, ' ')}`);
  const ack = ACK_BODY.exec(text)?.[0];
  if (ack) evidence.push(`helpdesk:body=${ack.toLowerCase().replace(/\s+/g, ' ')}`);

  const subjectScore = ackPhrase ? 2 : tags.length > 0 ? 1 : 0;
  const bodyScore = (automation ? 2 : 0) + (ack ? 1 : 0);
  const content = subjectScore + bodyScore;
  // Acknowledgements mark themselves in the subject: without a subject signal nothing is decided.
  const helpdeskDecided = subjectScore > 0 && content >= 3 && nonContent.length > 0;
  // As with challenges, words alone in a person's reply are that person's words.
  const helpdeskSuspect = !helpdeskDecided && content > 0 && content + nonContent.length >= 2 && !(personReplied && nonContent.length === 0);

  const decided = challenge.decided || helpdeskDecided;
  const relevant = challenge.evidence.length > 0 || evidence.length > 0 || taggedAutoReplyPhrase !== null;
  return {
    decided,
    suspect: !decided && (challenge.suspect || helpdeskSuspect),
    taggedAutoReplyPhrase,
    evidence: relevant ? [...challenge.evidence, ...evidence, ...nonContent] : [],
  };
}
