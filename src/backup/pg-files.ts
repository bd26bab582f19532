// Which files of a PostgreSQL data directory a physical backup copies. The rules are
// pg_basebackup's (src/backend/backup/basebackup.c in PostgreSQL 15): runtime-only folders are kept
// empty, lock and temporary files are skipped, and unlogged relations keep only their init fork.
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { join } from 'node:path';

/** Folders whose contents are not backed up (the folder itself is recreated empty). */
export const EXCLUDED_DIR_CONTENTS = new Set([
  'pg_wal',
  'pg_stat_tmp',
  'pg_replslot',
  'pg_dynshmem',
  'pg_notify',
  'pg_serial',
  'pg_snapshots',
  'pg_subtrans',
]);

/** File names never copied; backup_label and tablespace_map come from pg_backup_stop instead. */
export const EXCLUDED_FILES = new Set([
  'postmaster.pid',
  'postmaster.opts',
  'pg_internal.init',
  'backup_label',
  'tablespace_map',
  'backup_manifest',
  'current_logfiles',
  'postgresql.auto.conf.tmp',
  'backup_label.old',
]);

const RELATION_FILE = /^(\d+)(_(fsm|vm|init))?(\.\d+)?$/;
const TEMP_RELATION = /^t\d+_\d+(_(fsm|vm|init))?(\.\d+)?$/;

export interface DataFile {
  /** Path relative to the data directory, with forward slashes. */
  path: string;
  size: number;
  mtimeMs: number;
  mode: number;
  /** A relation fork segment made of 8 KiB pages carrying a page LSN (so page-level incrementals apply). */
  relation: boolean;
}

export interface DataDir {
  path: string;
  mode: number;
}

export interface DataListing {
  files: DataFile[];
  dirs: DataDir[];
  /** Entries of pg_tblspc (symlinks to tablespaces); not supported yet, reported so the caller can refuse. */
  tablespaces: string[];
}

export function isRelationPath(path: string): boolean {
  const parts = path.split('/');
  const name = parts[parts.length - 1]!;
  const inRelDir = (parts[0] === 'base' && parts.length === 3) || (parts[0] === 'global' && parts.length === 2);
  return inRelDir && RELATION_FILE.test(name);
}

/** Lists the data directory the way a base backup sees it. Files that vanish while listing are skipped. */
export function listDataDirectory(root: string): DataListing {
  const files: DataFile[] = [];
  const dirs: DataDir[] = [];
  const tablespaces: string[] = [];

  const walk = (rel: string) => {
    const abs = rel ? join(root, rel) : root;
    let names: string[];
    try {
      names = readdirSync(abs);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    // Unlogged relations: only the init fork is kept; PostgreSQL rebuilds the rest from it at startup.
    const unlogged = new Set<string>();
    for (const name of names) {
      const m = /^(\d+)_init$/.exec(name);
      if (m) unlogged.add(m[1]!);
    }
    for (const name of names) {
      const relPath = rel ? `${rel}/${name}` : name;
      if (EXCLUDED_FILES.has(name) || name.startsWith('pgsql_tmp')) continue;
      let st: Stats;
      try {
        st = lstatSync(join(abs, name));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      if (rel === 'pg_tblspc') {
        tablespaces.push(relPath);
        continue;
      }
      if (st.isDirectory()) {
        dirs.push({ path: relPath, mode: st.mode & 0o7777 });
        if (EXCLUDED_DIR_CONTENTS.has(relPath)) {
          // pg_wal/archive_status must exist for the server to start.
          if (relPath === 'pg_wal') dirs.push({ path: 'pg_wal/archive_status', mode: st.mode & 0o7777 });
          continue;
        }
        walk(relPath);
        continue;
      }
      if (!st.isFile()) continue;
      if (TEMP_RELATION.test(name)) continue;
      const relation = isRelationPath(relPath);
      if (relation) {
        const m = RELATION_FILE.exec(name)!;
        if (unlogged.has(m[1]!) && m[3] !== 'init') continue;
      }
      files.push({ path: relPath, size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777, relation });
    }
  };
  walk('');
  return { files, dirs, tablespaces };
}
