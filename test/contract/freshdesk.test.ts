/** The Helpdesk contract against the Freshdesk connector and its loopback stand-in (search lagging 2 s). */
import { helpdeskContract } from './helpdesk.contract';
import { freshdeskUnderTest } from '../stand-ins/freshdesk/harness';

helpdeskContract('Freshdesk (stand-in)', () => freshdeskUnderTest({ searchLagMs: 2_000 }));
