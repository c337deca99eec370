/**
 * Every provider webhook route, for the API app to mount before the admin token applies. A provider
 * without its secret answers 404, as if the route did not exist.
 */
import express, { type Router } from 'express';
import { genericJsonRouter } from './generic-json';
import { mailgunRouter } from './mailgun';
import { postmarkRouter } from './postmark';
import { sendgridRouter } from './sendgrid';
import { sesRouter } from './ses';
import type { WebhookDeps } from './webhook';

export function providerRouter(deps: WebhookDeps): Router {
  const router = express.Router();
  router.use(mailgunRouter(deps));
  router.use(sendgridRouter(deps));
  router.use(postmarkRouter(deps));
  router.use(sesRouter(deps));
  router.use(genericJsonRouter(deps));
  return router;
}
