export { providerRouter } from './routes';
export type { WebhookDeps } from './webhook';
