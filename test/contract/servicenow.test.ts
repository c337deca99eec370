/** The Helpdesk contract against the ServiceNow connector and its loopback stand-in (Table and Attachment APIs). */
import { helpdeskContract } from './helpdesk.contract';
import { serviceNowUnderTest } from '../stand-ins/servicenow/harness';

helpdeskContract('ServiceNow (stand-in)', serviceNowUnderTest);
