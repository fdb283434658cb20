// The demo site's description for the nunjucks-s3 CLI: `npx nunjucks-s3 upload` run in examples/site
// (or with --config examples/site/nunjucks-s3.config.mjs) uploads the same static folders the demo does.
// Without FLASKS3_BUCKET_NAME it targets the embedded S3 server of a running `npm run demo`
// (DEMO_S3_ENDPOINT, default http://127.0.0.1:4568). With it, the settings come from the FLASKS3_* /
// AWS_* environment variables and flags alone, so nothing of the local setup leaks into a real upload.

import { siteDescription } from './app.mjs';
import { embeddedSettings } from './settings.mjs';

const realBucket = Boolean(process.env.FLASKS3_BUCKET_NAME);

export default siteDescription(
  realBucket ? {} : embeddedSettings(process.env.DEMO_S3_ENDPOINT ?? 'http://127.0.0.1:4568'),
);
