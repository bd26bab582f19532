// Durability helpers. A backup counts as good only after every byte it references is on disk, and
// the catalog entry that lists it is the last thing written, by an atomic rename.
import { closeSync, fsyncSync, openSync, renameSync, writeSync, constants } from 'node:fs';
import { dirname } from 'node:path';

export function fsyncPath(path: string): void {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** fsync of a directory makes a rename or a new entry in it durable. */
export function fsyncDir(path: string): void {
  fsyncPath(path);
}

/** Writes a file under a temporary name, fsyncs it, renames it into place and fsyncs the folder. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w', 0o640);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let done = 0;
    while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}
