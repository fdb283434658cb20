// Regenerates the demo site's PNG images (hero, gallery, background tile, favicon) from code, so the
// committed binaries are reproducible and need no image editor: `node examples/tools/make-images.mjs`.
// A minimal PNG encoder (RGB, 8 bit, per-row "Up" filter, zlib level 9) is all that takes.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { deflateSync } from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const site = path.join(here, '..', 'site');

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** Encode an RGB image; `pixel(x, y)` returns [r, g, b] in 0..255. */
function png(width, height, pixel) {
  const stride = width * 3;
  const raw = Buffer.alloc((stride + 1) * height);
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const row = Buffer.alloc(stride);
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      row[x * 3] = clamp(r);
      row[x * 3 + 1] = clamp(g);
      row[x * 3 + 2] = clamp(b);
    }
    // Filter type 2 ("Up"): smooth vertical gradients compress to almost nothing.
    const o = y * (stride + 1);
    raw[o] = 2;
    for (let i = 0; i < stride; i++) raw[o + 1 + i] = (row[i] - prev[i]) & 0xff;
    prev = row;
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A well-mixed integer hash, so scattered stars do not line up. */
function hash(x, y) {
  let h = Math.imul(x, 0x27d4eb2d) ^ Math.imul(y, 0x165667b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

const clamp = (v) => Math.max(0, Math.min(255, Math.round(v)));
const mix = (a, b, t) => a.map((v, i) => v + (b[i] - v) * t);
const smooth = (t) => t * t * (3 - 2 * t);

// A dusk sky over a sea, the sun low on the right and a lighthouse beyond it (the page's text sits on
// the left half): the home page hero.
function hero(x, y, w = 960, h = 360) {
  const horizon = h * 0.62;
  const sunX = w * 0.64;
  if (y < horizon) {
    const t = y / horizon;
    let c = mix([20, 36, 74], [242, 140, 96], smooth(t));
    const sun = Math.hypot(x - sunX, y - horizon) / (h * 0.16);
    if (sun < 1) c = mix([255, 214, 150], c, smooth(sun));
    // the beam: a soft wedge from the lamp towards the upper right
    const lx = w * 0.86;
    const ly = horizon - h * 0.38;
    if (x > lx && y < ly + 40) {
      const slope = (ly - y) / (x - lx + 1);
      const d = Math.abs(slope - 0.18);
      if (d < 0.12) c = mix(c, [255, 240, 200], 0.35 * (1 - d / 0.12));
    }
    // the tower, red and white bands, a little wider at the foot
    const tw = 14 + ((y - ly) / (horizon - ly)) * 10;
    if (y > ly && Math.abs(x - lx) < tw / 2) {
      const band = Math.floor((y - ly) / 18) % 2;
      c = band ? [236, 236, 230] : [200, 64, 52];
    }
    if (y > ly - 14 && y <= ly && Math.abs(x - lx) < 8) c = [255, 236, 170];
    return c;
  }
  const t = (y - horizon) / (h - horizon);
  const wave = Math.sin(x / 23 + y * 0.9) * Math.sin(x / 71 - y / 5);
  const glitter = Math.abs(x - sunX) < 60 * (1 - t * 0.5) && wave > 0.55 ? 0.5 : 0;
  return mix(mix([38, 62, 110], [10, 24, 52], t), [255, 214, 150], glitter);
}

const gallery = {
  'harbour-dawn': (x, y) => {
    const t = y / 320;
    let c = mix([255, 196, 160], [120, 170, 210], smooth(t));
    if (y > 200) c = mix([70, 110, 150], [30, 60, 100], (y - 200) / 120);
    const hull = y > 170 && y < 205 && Math.abs(x - 240) < 110 - (y - 170);
    if (hull) c = [52, 40, 36];
    if (Math.abs(x - 240) < 3 && y > 60 && y <= 170) c = [60, 48, 40];
    if (y > 70 && y < 165 && x > 243 && x < 243 + (165 - y) * 0.9) c = [250, 246, 236];
    return c;
  },
  'night-watch': (x, y) => {
    let c = mix([6, 10, 30], [28, 40, 90], y / 320);
    if (hash(x, y) % 997 < 2 && y < 220) c = [255, 255, 240];
    const moon = Math.hypot(x - 380, y - 70);
    if (moon < 34) c = [246, 242, 220];
    if (Math.hypot(x - 392, y - 62) < 30 && moon < 34) c = mix([246, 242, 220], [28, 40, 90], 0.9);
    if (y > 250) c = mix([12, 20, 50], [4, 8, 20], (y - 250) / 70);
    return c;
  },
  'tide-lines': (x, y) => {
    const v = Math.sin(x / 18 + Math.sin(y / 27) * 2.4) * 0.5 + 0.5;
    return mix([232, 222, 196], [70, 140, 160], smooth(v) * (0.4 + (y / 320) * 0.6));
  },
  'signal-flags': (x, y) => {
    const flags = [
      [228, 87, 46],
      [255, 201, 20],
      [46, 134, 171],
      [250, 250, 245],
      [19, 49, 92],
    ];
    const line = 60 + Math.sin((x / 480) * Math.PI) * 40;
    const i = Math.floor(x / 96);
    const inFlag = y > line && y < line + 80 - Math.abs((x % 96) - 48) * 0.9 && x % 96 > 6 && x % 96 < 90;
    if (inFlag) return flags[i % flags.length];
    if (Math.abs(y - line) < 1.5) return [40, 40, 40];
    return mix([200, 226, 240], [150, 196, 224], y / 320);
  },
};

// A quiet 48x48 tile (two faint dots) for the page background.
function tile(x, y) {
  const base = [246, 243, 236];
  const d1 = Math.hypot(x - 12, y - 12);
  const d2 = Math.hypot(x - 36, y - 36);
  return d1 < 1.6 || d2 < 1.6 ? [222, 214, 198] : base;
}

// 32x32 favicon: the lighthouse lamp on navy.
function favicon(x, y) {
  const c = [11, 37, 69];
  if (Math.hypot(x - 16, y - 9) < 5) return [255, 214, 120];
  if (y > 13 && y < 30 && Math.abs(x - 16) < 3 + (y - 13) / 5)
    return Math.floor((y - 13) / 4) % 2 ? [240, 240, 232] : [228, 87, 46];
  return c;
}

function write(rel, buf) {
  const file = path.join(site, rel);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, buf);
  console.log(`${rel}: ${buf.length} bytes`);
}

write(
  'static/img/hero.png',
  png(960, 360, (x, y) => hero(x, y)),
);
write('static/img/paper.png', png(48, 48, tile));
write('static/favicon.png', png(32, 32, favicon));
for (const [name, fn] of Object.entries(gallery)) write(`static/img/gallery/${name}.png`, png(480, 320, fn));
