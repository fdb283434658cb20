// How fast a ListObjects page of 1,000 keys is read, and how much it allocates: the tree reader
// (parseXml, then the page read from the tree, as lean-store.ts did) against the listing reader
// (src/s3/lean/listing-page.ts): the usual page read by a few regular expressions (plain-listing.ts),
// and the strict walk that fills the page as it goes, which reads every other page. A synthetic page shaped like
// the servers' (Owner, StorageClass, every ETag written &quot;...&quot;), about 300 KB.
//
//   node --import tsx bench/xml-listing.ts [--pages 200] [--rounds 3] [--runs 7]
//
// Warm: the same page read again and again, once the code is optimised. Allocation is counted with
// v8.GCProfiler: what every collection freed plus what is still in use at the end; GC time is the
// collections' own cost. Rounds alternate the readers so all meet the same load.
// Cold: what a deploy pays, ten distinct pages read once each in a fresh process, mostly before V8
// optimises the code; one process per reader and run, alternating.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { GCProfiler } from 'node:v8';
import { readObjectPage, readWalkedObjectPage } from '../src/s3/lean/listing-page.js';
import { parseXml } from '../src/s3/lean/xml.js';
import { treeObjectPage } from '../test/helpers/tree-object-page.js';
import { Rng } from './rng.js';

/** A ListBucketResult of `count` keys, the same for the same seed. */
function syntheticPage(count: number, seed = 1): string {
  const rng = new Rng(seed);
  const hex = (n: number) => Array.from({ length: n }, () => (rng.next() & 15).toString(16)).join('');
  const kinds = ['css', 'js', 'svg', 'html', 'json', 'png', 'woff2'];
  const contents: string[] = [];
  for (let i = 0; i < count; i++) {
    const kind = kinds[rng.int(0, kinds.length - 1)]!;
    const key = `static/${kind}/dir-${rng.int(0, 40)}/file-${String(i).padStart(5, '0')}.${hex(8)}.${kind}`;
    contents.push(
      `<Contents><Key>${key}</Key><LastModified>2026-0${rng.int(1, 9)}-1${rng.int(0, 9)}T10:${rng.int(10, 59)}:0${rng.int(0, 9)}.000Z</LastModified>` +
        `<ETag>&quot;${hex(32)}&quot;</ETag><Size>${rng.int(100, 300_000)}</Size>` +
        `<Owner><ID>${hex(64)}</ID><DisplayName>webfile</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>`,
    );
  }
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
    `<Name>site</Name><Prefix>static/</Prefix><Marker></Marker><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>` +
    `${contents.join('')}</ListBucketResult>`
  );
}

interface Figures {
  msPerPage: number;
  allocatedMiBPerPage: number;
  gcMs: number;
}

/** `read` applied to `xml` `pages` times. */
function measure(read: (xml: string) => unknown, xml: string, pages: number): Figures {
  const profiler = new GCProfiler();
  profiler.start();
  const usedBefore = process.memoryUsage().heapUsed;
  const started = performance.now();
  let keep: unknown;
  for (let i = 0; i < pages; i++) keep = read(xml);
  const elapsed = performance.now() - started;
  const usedAfter = process.memoryUsage().heapUsed;
  const { statistics } = profiler.stop();
  let freed = 0;
  let gcUs = 0;
  for (const gc of statistics) {
    freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
    gcUs += gc.cost;
  }
  if (keep === undefined) throw new Error('nothing read');
  return {
    msPerPage: elapsed / pages,
    allocatedMiBPerPage: (usedAfter - usedBefore + freed) / pages / 2 ** 20,
    gcMs: gcUs / 1000,
  };
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const READERS: Record<string, [label: string, read: (xml: string) => unknown]> = {
  tree: ['parseXml alone (the tree)', parseXml],
  'tree-page': ['tree page (parseXml + page from the tree)', treeObjectPage],
  walk: ['the strict walk alone (readWalkedObjectPage)', readWalkedObjectPage],
  listing: ['listing reader (readObjectPage: plain, else walk)', readObjectPage],
};

/** Warm: each reader on the same page, `pages` times a round, after a warm-up. */
function warm(pages: number, rounds: number): void {
  const xml = syntheticPage(1000);
  const readers = Object.values(READERS);
  for (const [, read] of readers) measure(read, xml, 20);
  const results = new Map<string, Figures[]>(readers.map(([label]) => [label, []]));
  for (let round = 0; round < rounds; round++)
    for (const [label, read] of readers) results.get(label)!.push(measure(read, xml, pages));
  console.log(
    `warm: 1,000 keys, ${(xml.length / 1024).toFixed(0)} KB; ${pages} pages x ${rounds} rounds (medians)`,
  );
  for (const [label, figures] of results) {
    const ms = median(figures.map((f) => f.msPerPage)).toFixed(2);
    const mib = median(figures.map((f) => f.allocatedMiBPerPage)).toFixed(2);
    const gc = median(figures.map((f) => f.gcMs)).toFixed(0);
    console.log(
      `  ${label.padEnd(44)} ${ms.padStart(7)} ms/page ${mib.padStart(6)} MiB allocated/page  GC ${gc} ms/round`,
    );
  }
}

/** In a fresh process (a child): 10 distinct pages read once each, as a deploy's listing does; ms for all. */
function coldChild(id: string): void {
  const read = READERS[id]![1];
  const xmls = Array.from({ length: 10 }, (_, i) => syntheticPage(1000, i + 1));
  const started = performance.now();
  for (const xml of xmls) read(xml);
  console.log(JSON.stringify({ ms: performance.now() - started }));
}

/** Cold: each reader in `runs` fresh processes, alternating, since the CLI reads ten pages, not thousands. */
function cold(runs: number): void {
  const ids = Object.keys(READERS);
  const totals = new Map<string, number[]>(ids.map((id) => [id, []]));
  for (let run = 0; run < runs; run++)
    for (const id of ids) {
      const args = [...process.execArgv, fileURLToPath(import.meta.url), '--child', id];
      const out = execFileSync(process.execPath, args, { encoding: 'utf8' });
      totals.get(id)!.push((JSON.parse(out) as { ms: number }).ms);
    }
  console.log(
    `cold: 10 distinct pages of 1,000 keys read once in a fresh process, ${runs} processes (medians)`,
  );
  for (const id of ids)
    console.log(
      `  ${READERS[id]![0].padEnd(44)} ${median(totals.get(id)!).toFixed(1).padStart(7)} ms for 10 pages`,
    );
}

function main(): void {
  const { values } = parseArgs({
    options: {
      pages: { type: 'string' },
      rounds: { type: 'string' },
      runs: { type: 'string' },
      child: { type: 'string' },
    },
  });
  if (values.child !== undefined) coldChild(values.child);
  else {
    warm(Number(values.pages ?? 200), Number(values.rounds ?? 3));
    cold(Number(values.runs ?? 7));
  }
}

main();
