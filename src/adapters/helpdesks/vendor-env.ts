/**
 * Reading one vendor connector's settings from the environment under a prefix: required values, an
 * https base URL (plain http only to a loopback stand-in), the attachment mode and the timeout, each
 * failing with the variable's name and never its value.
 */
export type AttachmentMode = 'upload' | 'links';

export class VendorConfigError extends Error {}

export function vendorEnv(env: NodeJS.ProcessEnv, prefix: string, connector: string) {
  const get = (name: string): string | undefined => env[`${prefix}${name}`]?.trim() || undefined;
  const required = (name: string): string => {
    const value = get(name);
    if (value === undefined) throw new VendorConfigError(`${prefix}${name} is required for the ${connector} connector`);
    return value;
  };
  const baseUrl = (): string => {
    let url: URL;
    try {
      url = new URL(required('BASE_URL'));
    } catch (error) {
      if (error instanceof VendorConfigError) throw error;
      throw new VendorConfigError(`${prefix}BASE_URL must be an absolute URL`);
    }
    const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new VendorConfigError(`${prefix}BASE_URL must use https (plain http only to a loopback stand-in)`);
    return url.toString().replace(/\/$/, '');
  };
  const matching = (name: string, fallback: string, pattern: RegExp, what: string): string => {
    const value = get(name) ?? fallback;
    if (!pattern.test(value)) throw new VendorConfigError(`${prefix}${name} must be ${what}`);
    return value;
  };
  const attachments = (): AttachmentMode => {
    const value = get('ATTACHMENTS') ?? 'upload';
    if (value !== 'upload' && value !== 'links') throw new VendorConfigError(`${prefix}ATTACHMENTS must be upload or links`);
    return value;
  };
  const timeoutMs = (): number => {
    const value = Number(get('TIMEOUT_MS') ?? '30000');
    if (!Number.isInteger(value) || value < 1_000 || value > 300_000) throw new VendorConfigError(`${prefix}TIMEOUT_MS must be an integer from 1000 to 300000`);
    return value;
  };
  return { get, required, baseUrl, matching, attachments, timeoutMs };
}
