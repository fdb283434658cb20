// The demo's assets, served by a Fastify app: @fastify/view renders Nunjucks, and its onConfigure hook
// installs url_for into the Environment it creates. The static folder is the Express demo's
// (examples/site/static). createFastifyApp() is used by server.mjs and by the browser test.

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import view from '@fastify/view';
import Fastify from 'fastify';
import nunjucks from 'nunjucks';
import { NunjucksS3 } from 'nunjucks-s3';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * The app as nunjucks-s3 sees it: what createAll uploads and what url_for links to.
 * @param {Record<string, unknown>} config nunjucks-s3 settings
 */
export function fastifyDescription(config) {
  return { root: path.join(here, '..', 'site'), staticFolder: 'static', config };
}

/**
 * The Fastify server, not yet listening.
 * @param {Record<string, unknown>} config nunjucks-s3 settings
 */
export async function createFastifyApp(config) {
  const site = fastifyDescription(config);
  const server = Fastify();
  await server.register(view, {
    engine: { nunjucks },
    templates: path.join(here, 'templates'),
    options: { onConfigure: (env) => new NunjucksS3({ ...site, env }) },
  });
  server.get('/', (_req, reply) => reply.view('index.njk', { title: 'Home' }));
  return server;
}
