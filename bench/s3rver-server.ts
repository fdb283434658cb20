// Runs s3rver on a random 127.0.0.1 port in its own process for the upload benchmarks (servers.ts), so
// its JavaScript does not share an event loop with the client being measured. Prints `PORT <n>`.
import S3rver from 's3rver';
import { keepFoldersOfDeletedObjects } from '../examples/tools/s3rver-folders.mjs';

const directory = process.argv[2];
if (!directory) throw new Error('usage: s3rver-server.ts <data dir>');
const server = keepFoldersOfDeletedObjects(
  new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory }),
);
const { port } = (await server.run()) as { port: number };
console.log(`PORT ${port}`);
const close = () => {
  server.close().finally(() => process.exit(0));
};
process.on('SIGTERM', close);
process.on('SIGINT', close);
