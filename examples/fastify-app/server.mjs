// `node examples/fastify-app/server.mjs`: uploads the assets to the embedded S3 server of a running
// `npm run demo` (DEMO_S3_ENDPOINT, default http://127.0.0.1:4568), then serves the Fastify app on PORT
// (default 3001). With FLASKS3_BUCKET_NAME set, a real bucket configured by the FLASKS3_* / AWS_* variables.
import { createAll } from 'nunjucks-s3';
import { embeddedSettings, settingsFromEnv } from '../site/settings.mjs';
import { createFastifyApp, fastifyDescription } from './app.mjs';

const config = process.env.FLASKS3_BUCKET_NAME
  ? settingsFromEnv()
  : embeddedSettings(process.env.DEMO_S3_ENDPOINT ?? 'http://127.0.0.1:4568', {
      manifestPath: '../.s3-data/fastify-manifest.json',
    });
const report = await createAll(fastifyDescription(config));
console.log(`${report.uploaded.length} uploaded, ${report.skipped.length} unchanged`);
const server = await createFastifyApp(config);
const address = await server.listen({ host: '127.0.0.1', port: Number(process.env.PORT ?? 3001) });
console.log(`Fastify app: ${address}/`);
