// Command-line options of `npm run bench -- ...` (the bench's only argv parsing).

import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export type Part = 'render' | 'upload' | 'sweep' | 'memory';
export type BackendName = 'rgw' | 's3rver';

export interface BenchOptions {
  parts: Part[];
  /** Site sizes (files) for the upload part. */
  sizes: number[];
  backends: BackendName[];
  /** Sizes s3rver runs; default the smallest of `sizes`, at most 1,000 (its ListObjectsV2 fails past 1,000 keys). */
  s3rverSizes: number[] | undefined;
  /** Rounds per site size; undefined: RGW 2 up to 2,000 files, else 1 (a 10,000-file round takes minutes); s3rver 3 (its speed swings between rounds). */
  rounds: number | undefined;
  /** Concurrency settings createAll runs with in the upload part; undefined = the library default. */
  oursConcurrency: (number | undefined)[];
  /** Concurrencies the plain-SDK ceiling tries; the fastest counts. */
  sdkConcurrency: number[];
  /** createAll concurrencies for the issue-3 sweep (2,000 small files). */
  sweepConcurrency: number[];
  sweepFiles: number;
  sweepRounds: number;
  /** Big-file sizes for the memory part, MiB. */
  bigMiB: number[];
  /** Render part: timed rounds per variant (interleaved), renders per round. */
  renderRounds: number;
  rendersPerRound: number;
  /** Run createAll under `node --cpu-prof` and print its hottest functions. */
  cpuProf: boolean;
  peers: boolean;
  /** Upload contenders to run, by id (`ours`, `aws`, `aws-c32`, `rclone`, `rclone-t16`, `rclone-t32`, `sdk`, `raw`); undefined: all. */
  only: string[] | undefined;
  /** Add the hand-signed HTTP PUT reference row (no SDK). */
  raw: boolean;
  seed: number;
  workDir: string;
  out: string;
  quick: boolean;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const PROJECT_DIR = path.resolve(HERE, '..');

const USAGE = `npm run bench -- [options]
  --quick                      about 2 minutes: 1,000 files on RGW, fewer contenders, one round
  --parts render,upload,sweep,memory   which parts (default: all)
  --sizes 2000,10000           upload site sizes in files
  --backends rgw,s3rver        S3 servers (rgw: scripts/rgw.sh; s3rver: embedded, in a child process)
  --s3rver-sizes 1000          sizes s3rver runs (default: the smallest of --sizes, at most 1,000: s3rver's
                               ListObjectsV2 fails past 1,000 keys, which breaks aws s3 sync)
  --rounds N                   rounds per size (default: RGW 2 up to 2,000 files, else 1; s3rver 3)
  --ours-concurrency d,32      createAll concurrency values in the upload table (d = library default)
  --sdk-concurrency 8,16,32,64 plain-SDK ceiling concurrencies
  --sweep-concurrency 4,8,16,32,64  issue-3 sweep (2,000 small files, createAll)
  --sweep-rounds N             rounds of the sweep (default 2)
  --big-mib 256,1024           big-file sizes for the memory part
  --render-rounds N --renders N    render part rounds (interleaved) and renders per round
  --only ours,rclone-t32,sdk   upload contenders: a family (ours, aws, rclone, sdk, raw) or one setting (aws-c32, rclone-t16...)
  --no-peers                   skip aws s3 sync and rclone
  --no-raw                     skip the hand-signed HTTP PUT reference row (no SDK)
  --cpu-prof                   V8 CPU profiles of createAll (and the SDK ceiling), hottest functions in the report
  --seed N                     site generator seed (default 1)
  --work-dir DIR               generated sites and scratch (default $TMPDIR/nunjucks-s3-bench)
  --out FILE                   markdown output (default bench/results/latest.md)`;

function list(value: string, what: string): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (!items.length) throw new Error(`${what}: empty list`);
  return items;
}

function int(value: string, what: string, min = 1): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`${what}: expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

export function parseArgs(argv: readonly string[]): BenchOptions {
  const quick = argv.includes('--quick');
  const o: BenchOptions = {
    parts: ['render', 'upload', 'sweep', 'memory'],
    sizes: quick ? [1000] : [2000, 10000],
    backends: quick ? ['rgw'] : ['rgw', 's3rver'],
    rounds: quick ? 1 : undefined,
    oursConcurrency: [undefined],
    sdkConcurrency: quick ? [32] : [8, 16, 32, 64],
    sweepConcurrency: quick ? [4, 16, 64] : [4, 8, 16, 32, 64],
    s3rverSizes: undefined,
    sweepFiles: quick ? 1000 : 2000,
    sweepRounds: quick ? 1 : 2,
    bigMiB: quick ? [256] : [256, 1024],
    renderRounds: quick ? 9 : 15,
    rendersPerRound: quick ? 150 : 400,
    cpuProf: false,
    peers: true,
    only: undefined,
    raw: true,
    seed: 1,
    workDir: path.join(os.tmpdir(), 'nunjucks-s3-bench'),
    out: path.join(PROJECT_DIR, 'bench/results/latest.md'),
    quick,
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--quick':
        break;
      case '--parts':
        o.parts = list(value(), flag).map((p) => {
          if (!['render', 'upload', 'sweep', 'memory'].includes(p))
            throw new Error(`--parts: unknown part ${p}`);
          return p as Part;
        });
        break;
      case '--sizes':
        o.sizes = list(value(), flag).map((s) => int(s, flag, 10));
        break;
      case '--backends':
        o.backends = list(value(), flag).map((b) => {
          if (b !== 'rgw' && b !== 's3rver') throw new Error(`--backends: unknown backend ${b}`);
          return b;
        });
        break;
      case '--s3rver-sizes':
        o.s3rverSizes = list(value(), flag).map((s) => int(s, flag, 10));
        break;
      case '--rounds':
        o.rounds = int(value(), flag);
        break;
      case '--ours-concurrency':
        o.oursConcurrency = list(value(), flag).map((s) =>
          s === 'd' || s === 'default' ? undefined : int(s, flag),
        );
        break;
      case '--sdk-concurrency':
        o.sdkConcurrency = list(value(), flag).map((s) => int(s, flag));
        break;
      case '--sweep-concurrency':
        o.sweepConcurrency = list(value(), flag).map((s) => int(s, flag));
        break;
      case '--sweep-rounds':
        o.sweepRounds = int(value(), flag);
        break;
      case '--sweep-files':
        o.sweepFiles = int(value(), flag, 10);
        break;
      case '--big-mib':
        o.bigMiB = list(value(), flag).map((s) => int(s, flag));
        break;
      case '--render-rounds':
        o.renderRounds = int(value(), flag);
        break;
      case '--renders':
        o.rendersPerRound = int(value(), flag);
        break;
      case '--only':
        o.only = list(value(), flag);
        break;
      case '--no-raw':
        o.raw = false;
        break;
      case '--no-peers':
        o.peers = false;
        break;
      case '--cpu-prof':
        o.cpuProf = true;
        break;
      case '--seed':
        o.seed = int(value(), flag, 0);
        break;
      case '--work-dir':
        o.workDir = path.resolve(value());
        break;
      case '--out':
        o.out = path.resolve(value());
        break;
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown option ${flag}\n${USAGE}`);
    }
  }
  return o;
}
