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
    let pos = task.offset;
    const limit = task.length < 0 ? Infinity : task.offset + task.length;
    while (pos < limit) {
      const want = Math.min(CHUNK, limit - pos);
      const n = fs.readSync(fd, inBuf, 0, want, pos);
      if (n === 0) break;
      const data = inBuf.subarray(0, n);
      crcHasher.update(data);
      if (!pages) {
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
          const lsn = partial ? 0 : data.readUInt32LE(off) * 4294967296 + data.readUInt32LE(off + 4);
          if (partial || lsn >= task.since || block >= task.alwaysFromBlock) {
            data.copy(pageBuf, kept, off, Math.min(off + PAGE, n));
            kept += Math.min(PAGE, n - off);
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
    return { id: task.id, size: pos - task.offset, crc, object, blocks: pages ? blocks : undefined };
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
      fs.fsyncSync(packFd);
      fs.closeSync(packFd);
      parentPort.postMessage({ type: 'finished', size: packPos });
    } catch (error) {
      parentPort.postMessage({ type: 'error', id: -1, message: String(error && error.message || error), code: error && error.code });
    }
  }
});
`;
