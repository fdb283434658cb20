// The one-command demo (`npm run demo`): starts an embedded S3 server (s3rver, data kept in
// examples/.s3-data), uploads the demo site's static folders into it with createAll, and serves the site,
// whose every asset then loads from that S3 server. With FLASKS3_BUCKET_NAME set, it uploads to and links
// to that bucket instead (see examples/README.md). startDemo() is exported for the browser test.

import { mkdirSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAll } from 'nunjucks-s3';
import S3rver from 's3rver';
import { createSiteApp, siteDescription } from './site/app.mjs';
import { DEMO_BUCKET, embeddedSettings, settingsFromEnv, tuningFromEnv } from './site/settings.mjs';
import { keepFoldersOfDeletedObjects } from './tools/s3rver-folders.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const HOST = '127.0.0.1';
const DEFAULT_PORT = 3000;
const DEFAULT_S3_PORT = 4568;

// Pages live on the site's origin and their assets on the bucket's: fonts (always) and SRI-checked
// scripts and stylesheets (crossorigin="anonymous") are fetched with CORS, so the bucket must allow it.
// A real bucket needs the same rule (examples/README.md shows it).
const CORS_XML = `<CORSConfiguration>
  <CORSRule>
    <AllowedOrigin>*</AllowedOrigin>
    <AllowedMethod>GET</AllowedMethod>
    <AllowedMethod>HEAD</AllowedMethod>
    <AllowedHeader>*</AllowedHeader>
    <MaxAgeSeconds>3000</MaxAgeSeconds>
  </CORSRule>
</CORSConfiguration>`;

/**
 * Listen on 127.0.0.1:port; a busy default port falls back to a free one (a port the user asked for
 * does not: they would rather know).
 */
async function listen(server, { port, explicit, name }) {
  const attempt = (p) =>
    new Promise((resolve, reject) => {
      const onError = (err) => {
        server.off('listening', onListening);
        reject(err);
      };
      const onListening = () => {
        server.off('error', onError);
        resolve(server.address().port);
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(p, HOST);
    });
  try {
    return await attempt(port);
  } catch (err) {
    if (err.code === 'EADDRINUSE' && !explicit) return attempt(0);
    if (err.code === 'EADDRINUSE') {
      throw new Error(
        `${name}=${port}: ${HOST}:${port} is in use; choose another port, or 0 for any free one`,
      );
    }
    throw err;
  }
}

function closeServer(server) {
  if (!server?.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Browsers keep connections alive; without this, close() would wait for them to time out.
    server.closeAllConnections();
  });
}

function portFrom(value, fallback, name) {
  if (value === undefined || value === '') return { port: fallback, explicit: false, name };
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`${name} must be a port number, got ${value}`);
  return { port, explicit: true, name };
}

/**
 * Start the demo: embedded S3 (unless env names a real bucket), upload, site.
 * @param {object} [options]
 * @param {number} [options.port] site port; 0 for any. @default env PORT, else 3000 (any free port if busy)
 * @param {number} [options.s3Port] embedded S3 port; 0 for any. @default env DEMO_S3_PORT, else 4568 (any free port if busy)
 * @param {string} [options.dataDir] embedded S3 data folder. @default examples/.s3-data
 * @param {boolean} [options.quiet] print nothing. @default false
 * @param {Record<string, string | undefined>} [options.env] where FLASKS3_BUCKET_NAME etc. are read. @default process.env
 * @param {Record<string, unknown>} [options.settings] extra nunjucks-s3 settings (e.g. `{ fingerprint: 'filename' }`)
 */
export async function startDemo(options = {}) {
  const env = options.env ?? process.env;
  const log = options.quiet ? () => {} : (line) => console.log(line);
  // Warnings are in the report; they are printed once, with the summary.
  const logger = { warn: () => {} };
  const site = portFrom(options.port ?? env.PORT, DEFAULT_PORT, 'PORT');
  const realBucket = env.FLASKS3_BUCKET_NAME;

  let s3rver;
  let s3Server;
  let siteServer;
  const close = async () => {
    await closeServer(siteServer);
    await closeServer(s3Server);
    s3rver?.logger.close();
  };

  try {
    // The site's port first: a busy PORT fails before anything is started or uploaded. Requests that
    // arrive before the upload is done wait for the app.
    let app;
    const early = [];
    siteServer = http.createServer((req, res) => (app ? app(req, res) : early.push([req, res])));
    const sitePort = await listen(siteServer, site);
    const siteUrl = `http://${HOST}:${sitePort}/`;

    let settings;
    let s3Endpoint;
    let bucket;
    if (realBucket) {
      settings = { ...settingsFromEnv(env), ...options.settings };
      bucket = realBucket;
      s3Endpoint = env.FLASKS3_ENDPOINT_URL ?? '(AWS S3)';
    } else {
      const dataDir = path.resolve(options.dataDir ?? path.join(here, '.s3-data'));
      mkdirSync(dataDir, { recursive: true });
      s3rver = keepFoldersOfDeletedObjects(
        new S3rver({
          directory: dataDir,
          silent: true,
          configureBuckets: [{ name: DEMO_BUCKET, configs: [CORS_XML] }],
        }),
      );
      // s3rver.run() turns a busy port into an uncaught exception; serving its handler from our own
      // server lets a busy default port fall back to a free one.
      await s3rver.configureBuckets();
      s3Server = http.createServer(s3rver.callback());
      const s3 = portFrom(options.s3Port ?? env.DEMO_S3_PORT, DEFAULT_S3_PORT, 'DEMO_S3_PORT');
      const s3Port = await listen(s3Server, s3);
      s3Endpoint = `http://${HOST}:${s3Port}`;
      bucket = DEMO_BUCKET;
      const manifestPath = path.join(dataDir, 'nunjucks-s3-manifest.json');
      settings = {
        ...embeddedSettings(s3Endpoint, { bucket, manifestPath }),
        ...tuningFromEnv(env),
        ...options.settings,
      };
    }

    // The upload and the site use one description and one set of settings: keys and URLs agree.
    const report = await createAll(siteDescription(settings), { logger });
    const gzipped = report.uploaded.filter((e) => e.gzip).length;
    const { expressApp, s3: plugin } = createSiteApp(settings, { report });

    app = expressApp;
    for (const [req, res] of early.splice(0)) app(req, res);

    log('nunjucks-s3 demo');
    log(`  S3:     ${s3Endpoint}  bucket ${bucket}${s3rver ? '  (embedded s3rver)' : ''}`);
    const gzipNote = gzipped ? ` (${gzipped} gzipped, ${report.bytesSavedByGzip} bytes saved)` : '';
    log(
      `  upload: ${report.uploaded.length} uploaded${gzipNote}, ${report.skipped.length} unchanged ` +
        `in ${Math.round(report.durationMs)} ms`,
    );
    for (const w of report.warnings) log(`  warning: ${w}`);
    log(`  site:   ${siteUrl}`);
    const urlFor = (endpoint, values) => plugin.urlFor(endpoint, values);
    return { siteUrl, s3Endpoint, bucket, report, urlFor, close };
  } catch (err) {
    await close();
    throw err;
  }
}

// Run as a script (not when imported by the test).
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    const demo = await startDemo();
    console.log('Open the site URL in a browser; Ctrl-C stops the demo.');
    let stopping = false;
    const stop = async () => {
      if (stopping) process.exit(130);
      stopping = true;
      console.log('\nstopping...');
      await demo.close();
      process.exit(0);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } catch (err) {
    console.error(`demo failed: ${err.message}`);
    if (err.failures) for (const f of err.failures) console.error(`  ${f.key}: ${f.message}`);
    if (err.cause) console.error(`  cause: ${err.cause.message ?? err.cause}`);
    process.exit(1);
  }
}
