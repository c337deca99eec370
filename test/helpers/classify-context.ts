/** The classification context and evaluation folder the classifier's unit tests share. */
import path from 'node:path';
import type { ClassifyContext } from '../../src/domain/classify';

export const EVAL_DIR = path.resolve(__dirname, '../../..', 'test/fixtures/eval');

export const ctx: ClassifyContext = {
  instanceId: 'mailgate-test',
  isOwnAddress: (address) => address.endsWith('@mailgate.local'),
  isOwnMessageId: (id) => id.startsWith('ack.') && id.endsWith('@mailgate.local'),
  allowlist: [],
};
