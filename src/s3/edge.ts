// How a deploy reaches S3: the object store its state and common paths use, the small-object PUT, and the
// SDK client for everything else (multipart, CreateBucket, DeleteObjects, CopyObject, streamed bodies),
// created (and @aws-sdk/client-s3 loaded) only on first use. The lean signed-HTTP path (lean/) serves the
// store and the PUTs wherever the request is fully determined by the settings: a client createAll builds
// itself (an injected one may carry middleware of its own), an explicit path-style `endpointUrl` (no
// endpoint rules to apply), and credentials from the settings or AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN (the first source of the SDK's own chain). Anywhere else
// the SDK serves everything, as before.

import type { S3Client } from '@aws-sdk/client-s3';
import type { ResolvedConfig } from '../config.js';
import { createS3Client, type WarnLogger } from './client.js';
import { type DirectPut, directPutter } from './direct-put.js';
import { LeanS3, type LeanS3Options } from './lean/lean-client.js';
import { leanStore } from './lean/lean-store.js';
import type { SigningCredentials } from './lean/sign.js';
import type { ObjectStore } from './object-store.js';
import { clientSecrets, MIN_SECRET_LENGTH } from './redact.js';
import { clientRegion } from './region.js';
import { sdkStore } from './sdk-store.js';

type EdgeSettings = Parameters<typeof createS3Client>[0];

/** A deploy's way to S3; see the top of this file. */
export interface S3Edge {
  store: ObjectStore;
  /** The SDK client, created on the first call (or the injected one). */
  client(): S3Client;
  /** PUTs of bodies in memory on the lean path; undefined where it does not apply. */
  directPut: DirectPut | undefined;
  /** Whether the lean path serves the store and the PUTs. */
  lean: boolean;
  /** The credentials requests are signed with, to redact from what a server echoes. */
  secrets(): Promise<string[]>;
  /** Close the sockets of what was built here (never an injected client). */
  destroy(): void;
}

/** The credentials the lean path may sign with: the settings', else the environment's; undefined otherwise. */
export function knownCredentials(
  config: Pick<ResolvedConfig, 'accessKeyId' | 'secretAccessKey' | 'sessionToken'>,
  env: NodeJS.ProcessEnv = process.env,
): SigningCredentials | undefined {
  if (config.accessKeyId)
    return {
      accessKeyId: config.accessKeyId,
      secretAccessKey: config.secretAccessKey ?? '',
      sessionToken: config.sessionToken || undefined,
    };
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY)
    return {
      accessKeyId: env.AWS_ACCESS_KEY_ID,
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
      sessionToken: env.AWS_SESSION_TOKEN || undefined,
    };
  return undefined;
}

/** The lean path's options for these settings, or undefined when the SDK must serve (see the top of this file). */
export function leanOptions(config: EdgeSettings): LeanS3Options | undefined {
  if (config.endpointUrl === undefined || config.forcePathStyle === false) return undefined;
  let endpoint: URL;
  try {
    endpoint = new URL(config.endpointUrl);
  } catch {
    return undefined;
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') return undefined;
  if (endpoint.search !== '' || endpoint.username !== '' || endpoint.password !== '') return undefined;
  const credentials = knownCredentials(config);
  const region = clientRegion(config);
  if (credentials === undefined || region === undefined) return undefined;
  return {
    endpoint,
    region,
    credentials,
    // As src/s3/client.ts sizes and times the SDK's handler.
    maxSockets: config.concurrency + 8,
    connectionTimeout: Math.min(config.requestTimeout, 10_000),
    socketTimeout: config.requestTimeout,
  };
}

/** What the edge is opened for. */
export interface EdgeOptions {
  /** The bucket direct PUTs go to. */
  bucket: string;
  /** The caller's own client, which then serves everything. */
  injected?: S3Client | undefined;
  logger?: WarnLogger | undefined;
}

/** The edge for these settings. */
export function openS3Edge(config: EdgeSettings, options: EdgeOptions): S3Edge {
  const leanSettings = options.injected ? undefined : leanOptions(config);
  const lean = leanSettings && new LeanS3(leanSettings);
  let client = options.injected;
  const getClient = () => {
    if (client === undefined) {
      client = createS3Client(config, options.logger);
      if (lean) {
        // One clock correction for both paths, from now on kept in the client's config.
        const shared = client.config as { systemClockOffset?: number };
        shared.systemClockOffset = lean.clock.systemClockOffset ?? shared.systemClockOffset ?? 0;
        lean.clock = shared;
      }
    }
    return client;
  };
  return {
    store: lean ? leanStore(lean, config.maxAttempts) : sdkStore(getClient),
    client: getClient,
    directPut: lean && directPutter(lean, options.bucket),
    lean: lean !== undefined,
    secrets: async () => {
      if (!leanSettings) return clientSecrets(getClient());
      const c = leanSettings.credentials;
      return [c.accessKeyId, c.secretAccessKey, c.sessionToken].filter(
        (v): v is string => typeof v === 'string' && v.length >= MIN_SECRET_LENGTH,
      );
    },
    destroy: () => {
      lean?.destroy();
      if (client !== undefined && !options.injected) client.destroy();
    },
  };
}
