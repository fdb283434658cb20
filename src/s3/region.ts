// Which region a client talks to: Flask-S3's legacy location names, the environment, and the default
// for S3-compatible endpoints. Pure: no SDK.

import type { ResolvedConfig } from '../config.js';

/**
 * Flask-S3's legacy location names (`'EU'`, `'USWest'`, `''`/`'DEFAULT'` for US Standard) to AWS
 * region names; anything else is returned as is.
 */
export function normaliseRegion(region: string | undefined): string | undefined {
  if (region === undefined) return undefined;
  const r = region.trim();
  const legacy: Record<string, string> = {
    '': 'us-east-1',
    DEFAULT: 'us-east-1',
    US: 'us-east-1',
    EU: 'eu-west-1',
    USWest: 'us-west-1',
    USWest2: 'us-west-2',
    APSoutheast: 'ap-southeast-1',
    APSoutheast2: 'ap-southeast-2',
    APNortheast: 'ap-northeast-1',
    SAEast: 'sa-east-1',
  };
  return legacy[r] ?? r;
}

/**
 * The region a built client uses when it can be known without reading files: the setting, else
 * AWS_REGION / AWS_DEFAULT_REGION, else us-east-1 when an endpoint is set (S3-compatible stores mostly
 * ignore it), else undefined: then {@link regionFromProfileOrDefault} asks the shared config file.
 */
export function clientRegion(config: Pick<ResolvedConfig, 'region' | 'endpointUrl'>): string | undefined {
  return (
    normaliseRegion(config.region) ??
    (process.env.AWS_REGION ||
      process.env.AWS_DEFAULT_REGION ||
      (config.endpointUrl ? 'us-east-1' : undefined))
  );
}

/**
 * The region of the shared config file's profile (the SDK's own default chain, asked through a
 * throwaway client), else us-east-1, the documented last fallback: without it the SDK fails every
 * request with "Region is missing" on a machine that has credentials but no region configured.
 */
export async function regionFromProfileOrDefault(
  newClient: () => { config: { region: () => Promise<string> } },
): Promise<string> {
  try {
    return (await newClient().config.region()) || 'us-east-1';
  } catch {
    return 'us-east-1';
  }
}
