export { acceptEmailSettings, createAcceptEmail, DEFAULT_START_DEADLINE_MS, type AcceptEmailDeps } from './accept-email';
export { addressesOf, NotAnEmailError, readHeaderBlock, type HeaderBlock } from './mime-headers';
export * from './types';
