/** The smallest environment loadConfig accepts (credentials of the required length, no services). */
export const MINIMAL_ENV: Readonly<Record<string, string>> = Object.freeze({
  S3_ACCESS_KEY_ID: 'k',
  S3_SECRET_ACCESS_KEY: 's',
  MAILGATE_SIGNING_KEY: 'a-signing-key-of-16+',
  INGRESS_SECRETS: 'an-ingress-secret-of-16+',
  ADMIN_TOKEN: 'an-admin-token-of-16+',
});
