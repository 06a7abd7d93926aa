/**
 * File access by the worker's own code (outside the sandbox, often as root) to paths a build has
 * had its hands on: every component from `root` down is checked with lstat (no symlink, no escape)
 * and the file itself is opened with O_NOFOLLOW. Between steps no process of the build survives
 * (bwrap's PID namespace), so nothing can swap a component between the check and the open.
 */
import { closeSync, constants, fstatSync, openSync, readSync, type Mode } from 'node:fs';
import { lstat, mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export class OutsideWorkspaceError extends Error {
  override readonly name = 'OutsideWorkspaceError';
}

/** Checks that every directory between `root` and `file` is a real directory (no symlink). */
async function checkParents(root: string, file: string): Promise<void> {
  const rel = path.relative(root, file);
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) throw new OutsideWorkspaceError(`${file} is not inside ${root}`);
  let current = root;
  for (const part of rel.split(path.sep).slice(0, -1)) {
    current = path.join(current, part);
    const info = await lstat(current);
    if (!info.isDirectory()) throw new OutsideWorkspaceError(`${current} is not a directory (a symlink?): refusing to reach through it`);
  }
}

async function openInside(root: string, file: string, flags: number, mode?: Mode): Promise<FileHandle> {
  await checkParents(root, file);
  try {
    // O_NONBLOCK: a FIFO the build left there must not hang the worker in open().
    const handle = await open(file, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode);
    if (!(await handle.stat()).isFile()) {
      await handle.close();
      throw new OutsideWorkspaceError(`${file} is not a regular file`);
    }
    return handle;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new OutsideWorkspaceError(`${file} is a symlink: refusing to follow it`);
    if (code === 'ENXIO') throw new OutsideWorkspaceError(`${file} is not a regular file`);
    throw err;
  }
}

/** A file opened for writing (created or truncated; `exclusive`: created only) neither through a symlink at `file` nor in any directory below `root`. */
export async function openWriteInside(root: string, file: string, options: { mode?: number; exclusive?: boolean } = {}): Promise<FileHandle> {
  const flags = constants.O_WRONLY | constants.O_CREAT | (options.exclusive ? constants.O_EXCL : constants.O_TRUNC);
  return openInside(root, file, flags, options.mode ?? 0o644);
}

/** writeFile that neither follows a symlink at `file` nor in any directory below `root`. */
export async function writeFileInside(root: string, file: string, data: string | Uint8Array, options: { mode?: number; exclusive?: boolean } = {}): Promise<void> {
  const handle = await openWriteInside(root, file, options);
  try {
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}

/** readFile (utf8) of a regular file, never through a symlink; larger than `maxBytes` is refused. */
export async function readFileInside(root: string, file: string, maxBytes = 16 * 1024 * 1024): Promise<string> {
  const handle = await openInside(root, file, constants.O_RDONLY);
  try {
    if ((await handle.stat()).size > maxBytes) throw new OutsideWorkspaceError(`${file} is larger than ${maxBytes} bytes`);
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/** chmod of a regular file, never through a symlink (there is no lchmod on Linux). */
export async function chmodInside(root: string, file: string, mode: number): Promise<void> {
  const handle = await openInside(root, file, constants.O_RDONLY);
  try {
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

/**
 * The first `bytes` of a regular file (synchronously), or undefined when it is missing, a link, a
 * FIFO or anything else: a project file the build may have replaced must neither block the event
 * loop (a FIFO) nor be read without end (a link to /dev/zero).
 */
export function readHeadSync(file: string, bytes: number): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const info = fstatSync(fd);
    if (!info.isFile()) return undefined;
    const buffer = Buffer.alloc(Math.min(bytes, info.size));
    const read = buffer.length ? readSync(fd, buffer, 0, buffer.length, 0) : 0;
    return buffer.subarray(0, read).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** `dir` and every folder between `root` and it are real folders (no symlink); throws otherwise. */
export async function assertRealDirInside(root: string, dir: string): Promise<void> {
  await checkParents(root, path.join(dir, '.probe'));
}

/**
 * mkdir -p of `dir` below `root` (the worker's own, created if missing) that never reaches through
 * a symlink: each component below the root is created (`mode`, default 0755) or must already be a
 * real directory. With `chmod`, the last one is then given that mode through a handle opened with
 * O_NOFOLLOW.
 */
export async function mkdirInside(root: string, dir: string, options: { mode?: number; chmod?: number } = {}): Promise<void> {
  const rel = path.relative(root, dir);
  if (rel.startsWith('..') || path.isAbsolute(rel)) throw new OutsideWorkspaceError(`${dir} is not inside ${root}`);
  await mkdir(root, { recursive: true }); // the root is the worker's own (a workspace, a home folder)
  let current = root;
  for (const part of rel === '' ? [] : rel.split(path.sep)) {
    current = path.join(current, part);
    try {
      await mkdir(current, { mode: options.mode ?? 0o755 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (!(await lstat(current)).isDirectory()) throw new OutsideWorkspaceError(`${current} is not a directory (a symlink?): refusing to reach through it`);
  }
  if (options.chmod === undefined) return;
  let handle: FileHandle;
  try {
    handle = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') throw new OutsideWorkspaceError(`${dir} is not a directory (a symlink?): refusing to reach through it`);
    throw err;
  }
  try {
    await handle.chmod(options.chmod);
  } finally {
    await handle.close();
  }
}
