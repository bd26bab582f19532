// The restore worker, plain JavaScript run with `new Worker(source, {eval: true})` (see
// copy-worker-source.ts for why). Each job rebuilds one file: reads its stored objects from the
// packs (SHA-256 checked), decrypts, decompresses, writes whole ranges or changed pages, truncates to
// each step's size, checks the CRC-32C of the result, fchowns, then fsyncs asynchronously so the
// disk writes back one file while the worker decompresses the next.
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

async function job(j) {
  if (!crc) crc = await createCRC32(0x82f63b78);
  const fd = fs.openSync(j.target, 'w+', j.mode || 0o600);
  let handedOff = false;
  try {
    const streamed = j.steps.length === 1;
    crc.init();
    for (const step of j.steps) {
      if (step.inline !== undefined) {
        const content = Buffer.from(step.inline, 'base64');
        writeAll(fd, content, 0);
        if (streamed) crc.update(content);
      } else if (step.kind === 'whole') {
        const objs = step.objects.slice().sort((a, b) => (a.rawOffset || 0) - (b.rawOffset || 0));
        for (const obj of objs) {
          let pos = obj.rawOffset || 0;
          decode(readObject(obj, step.backup, j.path), (chunk) => { writeAll(fd, chunk, pos); if (streamed) crc.update(chunk); pos += chunk.length; });
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
                for (let i = 0; i < PAGE; i++) prev[i] ^= data[off + i];
                writeAll(fd, prev, block * PAGE);
              } else writeAll(fd, data.subarray(off, off + len), block * PAGE);
              off += len;
              if (++inRun === count) { run++; inRun = 0; }
            }
            carry = off < data.length ? Buffer.from(data.subarray(off)) : null;
          });
        }
      }
      fs.ftruncateSync(fd, step.size);
    }
    if (!streamed) {
      for (let pos = 0; ; ) {
        const n = fs.readSync(fd, readBuf, 0, readBuf.length, pos);
        if (n === 0) break;
        crc.update(readBuf.subarray(0, n));
        pos += n;
      }
    }
    const got = parseInt(crc.digest('hex'), 16) >>> 0;
    if (got !== j.crc >>> 0) throw new RestoreError('restored ' + j.path + ' does not match backup ' + j.lastBackup + ' (CRC-32C mismatch)');
    if (j.owner) fs.fchownSync(fd, j.owner.uid, j.owner.gid);
    handedOff = true;
    fs.fsync(fd, (error) => {
      fs.close(fd, () => {});
      if (error) parentPort.postMessage({ type: 'error', id: j.id, message: 'fsync of ' + j.path + ' failed: ' + error.message, code: error.code });
      else parentPort.postMessage({ type: 'durable', id: j.id });
    });
  } finally {
    if (!handedOff) fs.closeSync(fd);
  }
}

parentPort.on('message', (msg) => {
  if (msg.type === 'job') {
    job(msg.job).then(
      () => parentPort.postMessage({ type: 'written', id: msg.job.id }),
      (error) => parentPort.postMessage({ type: 'error', id: msg.job.id, message: String(error && error.message || error), code: error && error.code, validation: error instanceof RestoreError }),
    );
  } else if (msg.type === 'close') {
    for (const fd of packFds.values()) fs.closeSync(fd);
    packFds.clear();
    parentPort.postMessage({ type: 'closed' });
  }
});
`;
