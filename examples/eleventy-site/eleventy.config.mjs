// An Eleventy 3 site served from S3 with nunjucks-s3: the plugin line below is the whole integration.
// It reuses the Express demo's static folder (examples/site/static): Eleventy copies it into the output,
// and `npx @11ty/eleventy` uploads it, then the built pages, to the bucket.
//
// Where to upload: the embedded S3 server of `npm run demo` (DEMO_S3_ENDPOINT, default
// http://127.0.0.1:4568; DEMO_S3_BUCKET), or, with FLASKS3_BUCKET_NAME set, a real bucket configured by
// the FLASKS3_* / AWS_* environment variables.
import nunjucksS3 from 'nunjucks-s3/eleventy';
import { DEMO_BUCKET, embeddedSettings, settingsFromEnv } from '../site/settings.mjs';

const realBucket = Boolean(process.env.FLASKS3_BUCKET_NAME);
const settings = realBucket
  ? settingsFromEnv()
  : embeddedSettings(process.env.DEMO_S3_ENDPOINT ?? 'http://127.0.0.1:4568', {
      bucket: process.env.DEMO_S3_BUCKET ?? DEMO_BUCKET,
      manifestPath: process.env.DEMO_MANIFEST ?? '../.s3-data/eleventy-manifest.json',
    });

export default function (eleventyConfig) {
  eleventyConfig.addPlugin(nunjucksS3, {
    root: '../site', // the demo's folder: its static/ is this site's static folder too
    staticFolder: 'static',
    config: settings,
    upload: true,
    uploadPages: { cacheControl: 'public, max-age=60' },
  });
}

export const config = {
  dir: { input: 'src', output: '_site' },
  markdownTemplateEngine: 'njk',
};
