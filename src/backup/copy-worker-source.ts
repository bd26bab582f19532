// The copy worker, as plain JavaScript run with `new Worker(source, {eval: true})`. It is a string
// rather than a .ts module so the same code runs under tsx, vitest and the compiled build without
// a loader in the worker; its dependencies are resolved by the parent and passed in workerData.
//
// Hot loop (notes/backup-performance.md): fs.readSync into one reused buffer (streams were 4x
// slower), CRC-32C of the content for PostgreSQL's manifest, optional page-LSN filter for
// incrementals, zstd through one reused context, optional AES-256-GCM, SHA-256 of the stored bytes,
// and an append to this worker's own pack file. No temp files, nothing staged uncompressed.
export const COPY_WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const zstd = require(workerData.zstdBindingPath);
const { createCRC32 } = require(workerData.hashWasmPath);

const PAGE = 8192;
const CHUNK = workerData.chunkSize;
const inBuf = Buffer.allocUnsafe(CHUNK);
const pageBuf = Buffer.allocUnsafe(CHUNK);
const outBuf = Buffer.allocUnsafe(Math.max(CHUNK + (CHUNK >> 7) + 65536, 1 << 20));
const key = workerData.key ? Buffer.from(workerData.key, 'hex') : null;

const cctx = new zstd.CCtx();
cctx.setParameter(zstd.CParameter.compressionLevel, workerData.level);
// The frame carries an xxhash of the content, so a decompression also proves the bytes are intact.
cctx.setParameter(zstd.CParameter.checksumFlag, 1);

const packFd = fs.openSync(workerData.packPath, 'w', 0o640);
let packPos = 0;

function makeSink() {
  const sha = crypto.createHash('sha256');
  const start = packPos;
  let cipher = null;
  if (key) {
    const iv = crypto.randomBytes(12);
    cipher = crypto.createCipheriv('aes-256-gcm', key, iv);
    write(iv);
  }
  function write(buf) {
    if (buf.length === 0) return;
    let done = 0;
    while (done < buf.length) done += fs.writeSync(packFd, buf, done, buf.length - done, packPos + done);
    packPos += buf.length;
    sha.update(buf);
  }
  return {
    push(buf) { write(cipher ? cipher.update(buf) : buf); },
    finish() {
      if (cipher) { write(cipher.final()); write(cipher.getAuthTag()); }
      return { offset: start, length: packPos - start, sha256: sha.digest('hex') };
    },
  };
}

function compressInto(sink, src, end) {
  let consumed = 0;
  for (;;) {
    const view = src.subarray(consumed);
    const [remaining, produced, used] = cctx.compressStream2(outBuf, view, end ? zstd.EndDirective.end : zstd.EndDirective.continue);
    consumed += used;
    if (produced > 0) sink.push(outBuf.subarray(0, produced));
    if (end ? remaining === 0 : consumed >= src.length) return;
  }
}

// PostgreSQL's page checksum (same as src/backup/page-checksum.ts, which has the tests).
const BASE = new Uint32Array([
  0x5b1f36e9, 0xb8525960, 0x02ab50aa, 0x1de66d2a, 0x79ff467a, 0x9bb9f8a3, 0x217e7cd2, 0x83e13d2c, 0xf8d4474f, 0xe39eb970, 0x42c6ae16, 0x993216fa, 0x7b093b5d, 0x98daff3c, 0xf718902a,
  0x0b1c9cdb, 0xe58f764b, 0x187636bc, 0x5d7b3bb1, 0xe73de7de, 0x92bec979, 0xcca6c0b2, 0x304a0979, 0x85aa43d4, 0x783125bb, 0x6ca8eaa2, 0xe407eac6, 0x4b5cfc3e, 0x9fbf8c76, 0x15ca20be,
  0xf2ca9fd3, 0x959bd756]);
const sums = new Int32Array(32);
function checksumOk(data, off, blockNumber) {
  if (data.readUInt16LE(off + 14) === 0) return true; // new page: no checksum
  const w = new Int32Array(data.buffer, data.byteOffset + off, 2048);
  // First row apart: word 2 holds pd_checksum (its low 16 bits), which counts as zero.
  for (let j = 0; j < 32; j++) {
    const t = BASE[j] ^ (j === 2 ? w[2] & 0xffff0000 : w[j]);
    sums[j] = Math.imul(t, 16777619) ^ (t >>> 17);
  }
  for (let i = 32; i < 2048; i += 32) {
    for (let j = 0; j < 32; j++) {
      const t = sums[j] ^ w[i + j];
      sums[j] = Math.imul(t, 16777619) ^ (t >>> 17);
    }
  }
  let result = 0;
  for (let j = 0; j < 32; j++) {
    let t = sums[j];
    t = Math.imul(t, 16777619) ^ (t >>> 17);
    t = Math.imul(t, 16777619) ^ (t >>> 17);
    result ^= t;
  }
  result = (result ^ blockNumber) >>> 0;
  return data.readUInt16LE(off + 8) === (result % 65535) + 1;
}

// Reading the parent's version of a range back from the repository (exact-compare incrementals).
const packFds = new Map();
const decodeOut = Buffer.allocUnsafe(1 << 20);
function readStored(o) {
  let fd = packFds.get(o.packPath);
  if (fd === undefined) { fd = fs.openSync(o.packPath, 'r'); packFds.set(o.packPath, fd); }
  const buf = Buffer.allocUnsafe(o.length);
  const n = fs.readSync(fd, buf, 0, o.length, o.offset);
  if (n !== o.length || crypto.createHash('sha256').update(buf).digest('hex') !== o.sha256) {
    throw new Error('the parent backup is damaged (' + o.packPath + ' at ' + o.offset + '); run the integrity check, or take a full backup');
  }
  if (!key) return buf;
  const d = crypto.createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12));
  d.setAuthTag(buf.subarray(buf.length - 16));
  return Buffer.concat([d.update(buf.subarray(12, buf.length - 16)), d.final()]);
}
function decodeFrame(frame, sink) {
  const dctx = new zstd.DCtx();
  let pos = 0;
  let hint = 1;
  while (pos < frame.length) {
    const [h, produced, consumed] = dctx.decompressStream(decodeOut, frame.subarray(pos));
    pos += consumed; hint = h;
    if (produced > 0) sink(decodeOut.subarray(0, produced));
    if (consumed === 0 && produced === 0) break;
  }
  for (let i = 0; hint !== 0 && i < 1e6; i++) {
    const [h, produced] = dctx.decompressStream(decodeOut, Buffer.alloc(0));
    hint = h;
    if (produced > 0) sink(decodeOut.subarray(0, produced)); else break;
  }
  if (hint !== 0) throw new Error('a parent object is truncated');
}
function xorPage(dst, dOff, a, aOff, b, bOff) {
  const d = new Int32Array(dst.buffer, dst.byteOffset + dOff, 2048);
  const x = new Int32Array(a.buffer, a.byteOffset + aOff, 2048);
  const y = new Int32Array(b.buffer, b.byteOffset + bOff, 2048);
  for (let i = 0; i < 2048; i++) d[i] = x[i] ^ y[i];
}
/** The parent's content of [start, start + len), rebuilt as a restore would. */
function buildReference(ref, start, len) {
  const buf = Buffer.alloc(len);
  for (const step of ref.steps) {
    if (step.kind === 'whole') {
      for (const o of step.objects) {
        let pos = o.rawOffset;
        decodeFrame(readStored(o), (chunk) => {
          const a = Math.max(pos, start), b = Math.min(pos + chunk.length, start + len);
          if (b > a) chunk.copy(buf, a - start, a - pos, b - pos);
          pos += chunk.length;
        });
      }
    } else {
      for (const o of step.objects) {
        const runs = o.blocks || [];
        const xorBelow = o.xorBelow || 0;
        let run = 0, inRun = 0, carry = null;
        decodeFrame(readStored(o), (chunk) => {
          const data = carry ? Buffer.concat([carry, chunk]) : chunk;
          let off = 0;
          while (run < runs.length && data.length - off > 0) {
            const block = runs[run][0] + inRun;
            const isLast = run === runs.length - 1 && inRun === runs[run][1] - 1;
            const avail = data.length - off;
            if (avail < PAGE && !isLast) break;
            const n = Math.min(PAGE, avail);
            const at = block * PAGE - start;
            if (at >= 0 && at + n <= len) {
              if (block < xorBelow && n === PAGE) {
                const page = Buffer.from(data.subarray(off, off + PAGE));
                xorPage(buf, at, buf, at, page, 0);
              } else data.copy(buf, at, off, off + n);
            }
            off += n;
            if (++inRun === runs[run][1]) { run++; inRun = 0; }
          }
          carry = off < data.length ? Buffer.from(data.subarray(off)) : null;
        });
      }
    }
    const keep = step.size - start;
    if (keep < len) buf.fill(0, Math.max(0, keep));
  }
  return buf;
}

let crcHasher = null;

async function handle(task) {
  if (!crcHasher) crcHasher = await createCRC32(0x82f63b78);
  let fd;
  try {
    fd = fs.openSync(task.abs, 'r');
  } catch (error) {
    if (error.code === 'ENOENT') return { id: task.id, missing: true };
    throw error;
  }
  try {
    crcHasher.init();
    const pages = task.since !== null;
    let sink = null;
    const blocks = [];
    let torn = 0;
    const badPages = [];
    let pos = task.offset;
    const limit = task.length < 0 ? Infinity : task.offset + task.length;
    // Exact mode: the parent's bytes for this range, up to the parent's size.
    // Built on first need: with the LSN shortcut, a range where nothing changed never decompresses
    // the parent's data.
    let refBuf = null;
    let refLen = 0;
    const exact = pages && !!task.ref;
    if (exact) refLen = Math.max(0, Math.min(task.ref.size - task.offset, task.length < 0 ? task.ref.size - task.offset : task.length));
    const reference = () => (refBuf ??= buildReference(task.ref, task.offset, refLen));
    while (pos < limit) {
      const want = Math.min(CHUNK, limit - pos);
      const n = fs.readSync(fd, inBuf, 0, want, pos);
      if (n === 0) break;
      const data = inBuf.subarray(0, n);
      crcHasher.update(data);
      if (!pages) {
        if (task.checkPages) {
          // PostgreSQL page checksums, as pgBackRest checks them. A failing page whose LSN is at or
          // after the backup start is being written now (WAL replay restores it); otherwise it is
          // read again once, and reported only if it still fails: a torn read is not corruption.
          for (let off = 0; off + PAGE <= n; off += PAGE) {
            const block = (pos + off) / PAGE;
            if (checksumOk(data, off, task.blockBase + block)) continue;
            const lsn = data.readUInt32LE(off) * 4294967296 + data.readUInt32LE(off + 4);
            if (lsn >= task.startLsn) continue;
            const again = Buffer.allocUnsafe(PAGE);
            const got = fs.readSync(fd, again, 0, PAGE, pos + off);
            const lsn2 = got === PAGE ? again.readUInt32LE(0) * 4294967296 + again.readUInt32LE(4) : 0;
            if (got === PAGE && (lsn2 >= task.startLsn || checksumOk(again, 0, task.blockBase + block))) continue;
            badPages.push(block);
          }
        }
        if (!sink) { sink = makeSink(); cctx.reset(zstd.ResetDirective.sessionOnly); }
        compressInto(sink, data, false);
      } else {
        // Page-level incremental: keep pages whose LSN (xlogid, xrecoff: two little-endian uint32 at
        // the page start) is at or after the parent backup's start, and every page past the parent's
        // end of file. A partial trailing page is always kept.
        let kept = 0;
        for (let off = 0; off < n; off += PAGE) {
          const block = (pos + off) / PAGE;
          const partial = off + PAGE > n;
          const len = Math.min(PAGE, n - off);
          let keep;
          let xor = false;
          if (exact) {
            // Exact: a full page inside the parent's size is kept only if its bytes differ, and then
            // as XOR against the parent page; anything past the parent's end is kept as is.
            // Shortcut (main forks with data checksums): a page with an LSN before the parent's start
            // and a valid checksum has not changed since the parent read it (a page written during
            // the parent's copy was modified after its start, so it carries a newer LSN; a torn read
            // fails its checksum), so it needs no comparison. New (all-zero) pages are always compared:
            // truncation and re-extension can turn a page back into zeros without a new LSN.
            const at = pos + off - task.offset;
            if (!partial && at + PAGE <= refLen) {
              if (task.lsnShortcut && data.readUInt16LE(off + 14) !== 0 && data.readUInt32LE(off) * 4294967296 + data.readUInt32LE(off + 4) < task.since && checksumOk(data, off, task.blockBase + block)) {
                keep = false;
              } else {
                const ref = reference();
                keep = data.compare(ref, at, at + PAGE, off, off + PAGE) !== 0;
                xor = keep;
                if (xor) xorPage(pageBuf, kept, data, off, ref, at);
              }
            } else keep = true;
          } else {
            // LSN mode: pages whose LSN (xlogid, xrecoff: two little-endian uint32 at the page start)
            // is at or after the parent's start, every page past the parent's end, and pages whose
            // checksum fails (read while being written: WAL replay rewrites them).
            const lsn = partial ? 0 : data.readUInt32LE(off) * 4294967296 + data.readUInt32LE(off + 4);
            keep = partial || lsn >= task.since || block >= task.alwaysFromBlock;
            if (!keep && !checksumOk(data, off, task.blockBase + block)) { keep = true; torn++; }
          }
          if (keep) {
            if (!xor) data.copy(pageBuf, kept, off, off + len);
            kept += len;
            const last = blocks[blocks.length - 1];
            if (last && last[0] + last[1] === block) last[1]++;
            else blocks.push([block, 1]);
          }
        }
        if (kept > 0) {
          if (!sink) { sink = makeSink(); cctx.reset(zstd.ResetDirective.sessionOnly); }
          compressInto(sink, pageBuf.subarray(0, kept), false);
        }
      }
      pos += n;
      if (n < want) break;
    }
    let object = null;
    if (sink) {
      compressInto(sink, Buffer.alloc(0), true);
      object = sink.finish();
    }
    const crc = parseInt(crcHasher.digest('hex'), 16) >>> 0;
    return { id: task.id, size: pos - task.offset, crc, object, blocks: pages ? blocks : undefined, torn, badPages, xorBelow: task.ref ? Math.floor(task.ref.size / PAGE) : undefined };
  } finally {
    fs.closeSync(fd);
  }
}

parentPort.on('message', (msg) => {
  if (msg.type === 'task') {
    handle(msg.task).then(
      (result) => parentPort.postMessage({ type: 'result', result }),
      (error) => parentPort.postMessage({ type: 'error', id: msg.task.id, message: String(error && error.message || error), code: error && error.code }),
    );
  } else if (msg.type === 'finish') {
    try {
      for (const fd of packFds.values()) fs.closeSync(fd);
      fs.fsyncSync(packFd);
      fs.closeSync(packFd);
      parentPort.postMessage({ type: 'finished', size: packPos });
    } catch (error) {
      parentPort.postMessage({ type: 'error', id: -1, message: String(error && error.message || error), code: error && error.code });
    }
  }
});
`;
