// The restore worker, plain JavaScript run with `new Worker(source, {eval: true})` (see
// copy-worker-source.ts for why). Each job rebuilds one 64 MiB range of one file: reads the stored
// objects from the packs (SHA-256 checked), decrypts, decompresses, writes the whole copy and then
// every later delta (XOR pages applied onto the previous version), and returns the range's CRC-32C.
// The main thread combines the ranges' CRCs, truncates, fchowns and fsyncs each file.
export const RESTORE_WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const crypto = require('node:crypto');
const zstd = require(workerData.zstdBindingPath);
const { createCRC32 } = require(workerData.hashWasmPath);

const PAGE = 8192;
const key = workerData.key ? Buffer.from(workerData.key, 'hex') : null;
const out = Buffer.allocUnsafe(1 << 20);
const readBuf = Buffer.allocUnsafe(1 << 20);
const packFds = new Map();
let crc = null;

class RestoreError extends Error {}

function packFd(path, backup, file) {
  let fd = packFds.get(path);
  if (fd === undefined) {
    try { fd = fs.openSync(path, 'r'); } catch { throw new RestoreError('backup ' + backup + ': ' + path.split('/').pop() + ' (holding ' + file + ') is missing'); }
    packFds.set(path, fd);
  }
  return fd;
}

function readObject(obj, backup, file) {
  const buf = Buffer.allocUnsafe(obj.length);
  const n = fs.readSync(packFd(obj.packPath, backup, file), buf, 0, obj.length, obj.offset);
  if (n !== obj.length || crypto.createHash('sha256').update(buf).digest('hex') !== obj.sha256) {
    throw new RestoreError('backup ' + backup + ': stored copy of ' + file + ' is damaged (checksum mismatch in ' + obj.packPath.split('/').pop() + ')');
  }
  if (!key) return buf;
  const d = crypto.createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12));
  d.setAuthTag(buf.subarray(buf.length - 16));
  return Buffer.concat([d.update(buf.subarray(12, buf.length - 16)), d.final()]);
}

function decode(frame, sink) {
  const dctx = new zstd.DCtx();
  let pos = 0;
  let hint = 1;
  while (pos < frame.length) {
    const [h, produced, consumed] = dctx.decompressStream(out, frame.subarray(pos));
    pos += consumed;
    hint = h;
    if (produced > 0) sink(out.subarray(0, produced));
    if (consumed === 0 && produced === 0) break;
  }
  // Drain what the context still holds.
  for (let i = 0; hint !== 0 && i < 1e6; i++) {
    const [h, produced] = dctx.decompressStream(out, Buffer.alloc(0));
    hint = h;
    if (produced > 0) sink(out.subarray(0, produced)); else break;
  }
  if (hint !== 0) throw new Error('truncated compressed object');
}

function writeAll(fd, buf, position) {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, position + done);
}

// One range of one file: [j.start, j.end) of the grid range, all steps of the chain applied in
// order (the whole copy, then each delta), writes clipped to the grid range so that workers on
// neighbouring ranges never overlap. Returns the CRC-32C of [j.start, j.crcEnd).
async function job(j) {
  if (!crc) crc = await createCRC32(0x82f63b78);
  const fd = fs.openSync(j.target, 'r+');
  try {
    let streamedBytes = 0;
    let streamable = j.steps.length === 1 && j.steps[0].kind === 'whole' && j.steps[0].objects.length === 1 && (j.steps[0].objects[0].rawOffset || 0) === j.start;
    crc.init();
    const clipWrite = (buf, position) => {
      const a = Math.max(position, j.start), b = Math.min(position + buf.length, j.end);
      if (b > a) writeAll(fd, buf.subarray(a - position, b - position), a);
    };
    for (const step of j.steps) {
      if (step.kind === 'whole') {
        const objs = step.objects.slice().sort((a, b) => (a.rawOffset || 0) - (b.rawOffset || 0));
        for (const obj of objs) {
          let pos = obj.rawOffset || 0;
          decode(readObject(obj, step.backup, j.path), (chunk) => {
            clipWrite(chunk, pos);
            if (streamable) {
              const take = Math.max(0, Math.min(chunk.length, j.crcEnd - pos));
              if (take > 0) { crc.update(chunk.subarray(0, take)); streamedBytes += take; }
            }
            pos += chunk.length;
          });
        }
      } else {
        for (const obj of step.objects) {
          const runs = obj.blocks || [];
          const xorBelow = obj.xorBelow || 0;
          const prev = Buffer.allocUnsafe(PAGE);
          let run = 0, inRun = 0, carry = null;
          decode(readObject(obj, step.backup, j.path), (chunk) => {
            const data = carry ? Buffer.concat([carry, chunk]) : chunk;
            let off = 0;
            while (run < runs.length && data.length - off > 0) {
              const first = runs[run][0], count = runs[run][1];
              const isLast = run === runs.length - 1 && inRun === count - 1;
              const avail = data.length - off;
              if (avail < PAGE && !isLast) break;
              const len = Math.min(PAGE, avail);
              const block = first + inRun;
              if (block < xorBelow && len === PAGE) {
                // Stored as XOR against the previous version of the page, which is in the file now.
                const got = fs.readSync(fd, prev, 0, PAGE, block * PAGE);
                if (got < PAGE) prev.fill(0, got);
                if ((data.byteOffset + off) % 4 === 0) {
                  const x = new Int32Array(prev.buffer, prev.byteOffset, 2048);
                  const y = new Int32Array(data.buffer, data.byteOffset + off, 2048);
                  for (let i = 0; i < 2048; i++) x[i] ^= y[i];
                } else for (let i = 0; i < PAGE; i++) prev[i] ^= data[off + i];
                clipWrite(prev, block * PAGE);
              } else clipWrite(data.subarray(off, off + len), block * PAGE);
              off += len;
              if (++inRun === count) { run++; inRun = 0; }
            }
            carry = off < data.length ? Buffer.from(data.subarray(off)) : null;
          });
        }
      }
    }
    const length = j.crcEnd - j.start;
    if (!streamable || streamedBytes !== length) {
      crc.init();
      for (let pos = j.start; pos < j.crcEnd; ) {
        const n = fs.readSync(fd, readBuf, 0, Math.min(readBuf.length, j.crcEnd - pos), pos);
        if (n === 0) break;
        crc.update(readBuf.subarray(0, n));
        pos += n;
      }
    }
    return { crc: parseInt(crc.digest('hex'), 16) >>> 0, length };
  } finally {
    fs.closeSync(fd);
  }
}

parentPort.on('message', (msg) => {
  if (msg.type === 'job') {
    job(msg.job).then(
      (r) => parentPort.postMessage({ type: 'done', id: msg.job.id, crc: r.crc, length: r.length }),
      (error) => parentPort.postMessage({ type: 'error', id: msg.job.id, message: String(error && error.message || error), code: error && error.code, validation: error instanceof RestoreError }),
    );
  } else if (msg.type === 'close') {
    for (const fd of packFds.values()) fs.closeSync(fd);
    packFds.clear();
    parentPort.postMessage({ type: 'closed' });
  }
});
`;
