/**
 * The Helpdesk the ticket activities use: each queue's tickets go to the connector the rules file
 * names for it (`queues[].helpdesk`, default the built-in store), several connectors at once. A
 * ticket stays with the connector that holds it (its delivery in the ledger), even when its queue
 * later names another; a ticket no connector holds yet follows its queue.
 */
import { ErrorType, TypedError } from '../../domain/errors';
import type { TicketStatus } from '../../domain/vocabulary';
import type { Helpdesk, HelpdeskTicket, NewComment, NewTicket } from '../../ports/helpdesk';
import type { Ledger } from '../../ports/ledger';
import type { DeliveringHelpdesk } from './delivering-helpdesk';
import { BUILT_IN } from './settings';

export interface RoutingRules {
  queues: { address: string; helpdesk?: string }[];
}

export class RoutingHelpdesk implements Helpdesk {
  constructor(
    private readonly builtIn: Helpdesk,
    private readonly connectors: ReadonlyMap<string, DeliveringHelpdesk>,
    /** Read on every call, so a rules reload (SIGHUP) re-routes new tickets. */
    private readonly rules: RoutingRules,
    private readonly ledger: Pick<Ledger, 'deliveredId'>,
  ) {}

  /** The helpdesk a queue's new tickets go to. */
  forQueue(queue: string): Helpdesk {
    const name = this.rules.queues.find((q) => q.address === queue)?.helpdesk ?? BUILT_IN;
    if (name === BUILT_IN) return this.builtIn;
    const connector = this.connectors.get(name);
    // A reloaded rules file may name a connector this worker was not started with: park, never guess.
    if (!connector) throw new TypedError(ErrorType.RemoteRejected, `queue ${queue} names helpdesk "${name}", which is not configured (HELPDESK_CONNECTORS)`);
    return connector;
  }

  private async forTicket(ticketId: string): Promise<Helpdesk> {
    if (this.connectors.size === 0) return this.builtIn;
    for (const [name, connector] of this.connectors) {
      if ((await this.ledger.deliveredId({ connector: name, ticketId, messageId: null })) !== null) return connector;
    }
    const ticket = await this.builtIn.getTicket(ticketId);
    return ticket ? this.forQueue(ticket.queue) : this.builtIn;
  }

  async createTicket(input: NewTicket): Promise<{ ticket: HelpdeskTicket; created: boolean }> {
    return this.forQueue(input.queue).createTicket(input);
  }

  findByExternalRef(originKey: string): Promise<HelpdeskTicket | null> {
    return this.builtIn.findByExternalRef(originKey);
  }

  async addComment(ticketId: string, input: NewComment): Promise<{ comment: { id: string }; created: boolean }> {
    return (await this.forTicket(ticketId)).addComment(ticketId, input);
  }

  async getTicket(ticketId: string): Promise<HelpdeskTicket | null> {
    return (await this.forTicket(ticketId)).getTicket(ticketId);
  }

  attachmentNames(ticketId: string): Promise<{ messageId: string; filename: string }[]> {
    return this.builtIn.attachmentNames(ticketId);
  }

  async getTicketByNumber(number: number): Promise<HelpdeskTicket | null> {
    const ticket = await this.builtIn.getTicketByNumber(number);
    return ticket ? (await this.forTicket(ticket.id)).getTicket(ticket.id) : null;
  }

  async setStatus(ticketId: string, status: TicketStatus): Promise<HelpdeskTicket> {
    return (await this.forTicket(ticketId)).setStatus(ticketId, status);
  }

  async noteQueue(ticketId: string, queue: string): Promise<void> {
    return (await this.forTicket(ticketId)).noteQueue(ticketId, queue);
  }

  /** The ticket moves where it is held: a vendor's ticket shows the operator's queue too. */
  async moveTicket(ticketId: string, queue: string): Promise<HelpdeskTicket> {
    return (await this.forTicket(ticketId)).moveTicket(ticketId, queue);
  }

  async keepsHeaders(where: { queue: string; ticketId: string | null }): Promise<boolean> {
    const helpdesk = where.ticketId === null ? this.forQueue(where.queue) : await this.forTicket(where.ticketId);
    return (await helpdesk.keepsHeaders?.(where)) === true;
  }

  /** The built-in store and every connector (a /readyz answer per connector is `pingEach`). */
  async ping(): Promise<void> {
    await this.builtIn.ping();
    await Promise.all([...this.connectors.values()].map((c) => c.ping()));
  }

  /** Each connector's reachability, by name: "ok" or the (secret-free) error message. */
  async pingEach(): Promise<Record<string, string>> {
    const entries = await Promise.all(
      [...this.connectors].map(async ([name, c]) => {
        try {
          await c.ping();
          return [name, 'ok'] as const;
        } catch (error) {
          return [name, error instanceof Error ? error.message : String(error)] as const;
        }
      }),
    );
    return Object.fromEntries(entries);
  }
}
