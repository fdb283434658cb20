// How fast a ListObjects page of 1,000 keys is read, and how much it allocates: the tree reader
// (parseXml, then the page read from the tree, as lean-store.ts did) against the listing reader that
// fills the page while it walks the document (src/s3/lean/listing-page.ts). A synthetic page shaped like
// the servers' (Owner, StorageClass, every ETag written &quot;...&quot;), about 300 KB.
//
//   node --import tsx bench/xml-listing.ts [--pages 200] [--rounds 3]
//
// Allocation is counted with v8.GCProfiler: what every collection freed plus what is still in use at the
// end; GC time is the collections' own cost. Rounds alternate the readers so both meet the same load.
import { parseArgs } from 'node:util';
import { GCProfiler } from 'node:v8';
import { readObjectPage } from '../src/s3/lean/listing-page.js';
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

function main(): void {
  const { values } = parseArgs({ options: { pages: { type: 'string' }, rounds: { type: 'string' } } });
  const pages = Number(values.pages ?? 200);
  const rounds = Number(values.rounds ?? 3);
  const xml = syntheticPage(1000);
  const readers: [string, (xml: string) => unknown][] = [
    ['parseXml alone (the tree)', parseXml],
    ['tree page (parseXml + page from the tree)', treeObjectPage],
    ['listing reader (readObjectPage)', readObjectPage],
  ];
  for (const [, read] of readers) measure(read, xml, 20); // warm up
  const results = new Map<string, Figures[]>(readers.map(([name]) => [name, []]));
  for (let round = 0; round < rounds; round++)
    for (const [name, read] of readers) results.get(name)!.push(measure(read, xml, pages));
  console.log(
    `page: 1,000 keys, ${(xml.length / 1024).toFixed(0)} KB; ${pages} pages x ${rounds} rounds (medians)`,
  );
  for (const [name, figures] of results) {
    const ms = median(figures.map((f) => f.msPerPage)).toFixed(2);
    const mib = median(figures.map((f) => f.allocatedMiBPerPage)).toFixed(2);
    const gc = median(figures.map((f) => f.gcMs)).toFixed(0);
    console.log(
      `${name.padEnd(46)} ${ms.padStart(7)} ms/page ${mib.padStart(7)} MiB allocated/page  GC ${gc} ms/round`,
    );
  }
}

main();
