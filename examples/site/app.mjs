// The demo site: an ordinary Express 5 + Nunjucks app whose templates link their assets with
// url_for('static', ...) as a Flask template would. siteDescription() is the app as nunjucks-s3 sees it
// (static folders, the admin blueprint, the router, the settings): the demo, the CLI config file and the
// browser test all use this one description, so what is uploaded is what the pages link to.

import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import nunjucks from 'nunjucks';
import { NunjucksS3, staticMounts } from 'nunjucks-s3';

/** The folder this site lives in; every relative folder below is resolved against it. */
export const siteRoot = path.dirname(fileURLToPath(import.meta.url));

/**
 * Flask-style endpoint names of the pages. url_for('about') looks them up here; the Express routes
 * below are registered from the same table, so a link and its route cannot drift apart.
 */
export const routes = {
  index: '/',
  about: '/about',
  gallery: '/gallery',
  how_it_works: '/how-it-works',
  'admin.dashboard': '/admin/',
};

const photos = [
  { file: 'harbour-dawn.png', caption: 'Harbour at dawn' },
  { file: 'signal-flags.png', caption: 'Signal flags' },
  { file: 'tide-lines.png', caption: 'Tide lines' },
  { file: 'night-watch.png', caption: 'Night watch' },
];

/**
 * The site as nunjucks-s3 sees it (an AppLike without a Nunjucks environment: uploads need none).
 * @param {Record<string, unknown>} config nunjucks-s3 settings (FLASKS3_* or camelCase names)
 */
export function siteDescription(config = {}) {
  return {
    root: siteRoot,
    staticFolder: 'static',
    staticUrlPath: '/static',
    // A blueprint with its own static folder: served at /admin/static, uploaded under admin/static/.
    blueprints: [{ name: 'admin', staticFolder: 'admin/static', urlPrefix: '/admin' }],
    router: routes,
    config,
  };
}

/** Every file under a folder, relative to it, `/`-separated; hidden ones skipped as the uploader does. */
function listFiles(folder) {
  let names;
  try {
    names = readdirSync(folder, { recursive: true });
  } catch {
    return [];
  }
  return names
    .map((name) => String(name).split(path.sep).join('/'))
    .filter((rel) => !rel.split('/').some((seg) => seg.startsWith('.')))
    .filter((rel) => statSync(path.join(folder, rel)).isFile());
}

/** What the admin dashboard shows: from the upload report when this process uploaded, else from disk. */
function assetStats(appLike, report) {
  const entries = report
    ? [...report.uploaded, ...report.skipped].map((e) => ({ key: e.key, size: e.size, gzip: e.gzip }))
    : staticMounts(appLike).flatMap((mount) =>
        listFiles(mount.folder).map((rel) => ({
          key: `${mount.urlPath.slice(1)}/${rel}`,
          size: statSync(path.join(mount.folder, rel)).size,
          gzip: false,
        })),
      );
  const byFolder = {};
  for (const e of [...entries].sort((a, b) => (a.key < b.key ? -1 : 1))) {
    const folder = e.key.split('/').slice(0, -1).join('/') || '/';
    byFolder[folder] = (byFolder[folder] ?? 0) + e.size;
  }
  return {
    files: entries.length,
    kib: (entries.reduce((n, e) => n + e.size, 0) / 1024).toFixed(0),
    gzipped: report ? entries.filter((e) => e.gzip).length : '?',
    byFolder,
  };
}

/**
 * Builds the Express app.
 * @param {Record<string, unknown>} config nunjucks-s3 settings
 * @param {{ report?: import('nunjucks-s3').UploadReport }} [options] the upload this process ran, shown on /how-it-works
 * @returns {{ expressApp: import('express').Express, appLike: import('nunjucks-s3').AppLike, s3: NunjucksS3 }}
 */
export function createSiteApp(config = {}, { report } = {}) {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader(path.join(siteRoot, 'templates')), {
    autoescape: true,
  });
  const appLike = { ...siteDescription(config), env };
  // Installs url_for into env; checks the settings now, so a bad config fails at startup, not per request.
  const s3 = new NunjucksS3(appLike);

  const expressApp = express();
  expressApp.disable('x-powered-by');
  env.express(expressApp);

  // Like Flask, the app can still serve its static folders itself: that is what url_for links to when
  // nunjucks-s3 is inactive (FLASKS3_ACTIVE=false, or debug). When active, nothing requests these.
  for (const mount of staticMounts(appLike)) {
    expressApp.use(mount.urlPath || '/', express.static(mount.folder, { dotfiles: 'ignore', index: false }));
  }

  const sample = s3.urlFor('static', { filename: 'favicon.png' });
  const cut = sample.lastIndexOf('/static/');
  expressApp.locals.asset_origin = cut > 0 ? sample.slice(0, cut) : 'this server (nunjucks-s3 inactive)';
  expressApp.locals.bucket = appLike.config.bucketName ?? appLike.config.FLASKS3_BUCKET_NAME ?? '(none)';

  const page =
    (template, endpoint, locals = () => ({})) =>
    (req, res) => {
      res.render(template, { active: endpoint, ...locals(req) });
    };
  expressApp.get(routes.index, page('index.njk', 'index'));
  expressApp.get(routes.about, page('about.njk', 'about'));
  expressApp.get(
    routes.gallery,
    page('gallery.njk', 'gallery', () => ({ photos })),
  );
  expressApp.get(
    routes.how_it_works,
    page('how-it-works.njk', 'how_it_works', () => ({
      report,
      examples: [
        ["url_for('static', filename='css/site.css')", 'static', { filename: 'css/site.css' }],
        [
          "url_for('static', filename='img/gallery/tide-lines.png')",
          'static',
          { filename: 'img/gallery/tide-lines.png' },
        ],
        ["url_for('admin.static', filename='js/admin.js')", 'admin.static', { filename: 'js/admin.js' }],
        [
          "url_for('static', filename='css/site.css', _scheme='https')",
          'static',
          { filename: 'css/site.css', _scheme: 'https' },
        ],
        ["url_for('gallery')", 'gallery', {}],
      ]
        .map(([call, endpoint, values]) => ({ call, url: s3.urlFor(endpoint, values) }))
        .concat({
          call: "static_integrity('static', filename='js/site.js')",
          url: s3.staticIntegrity('static', { filename: 'js/site.js' }),
        }),
    })),
  );

  // The admin section, mounted like a Flask blueprint.
  const admin = express.Router();
  admin.get(
    '/',
    page('admin/dashboard.njk', 'admin.dashboard', () => ({ stats: assetStats(appLike, report) })),
  );
  expressApp.use('/admin', admin);

  expressApp.use((req, res) => {
    res.status(404).render('404.njk', { path: req.path });
  });

  return { expressApp, appLike, s3 };
}
