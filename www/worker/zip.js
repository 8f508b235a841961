// @ts-check
// Reads a .zip lazily from a Blob (a File the user chose): only the central directory and the
// entries asked for are read, so a catalogue of many thousand photos never has to fit in memory.
// Entries may be stored or deflated; deflate is undone by fflate (pinned, vendored from npm into
// vendor/ by build.sh). ZIP64 archives (over 65,535 entries or 4 GB) are read too.
//
// A zip is the user's file but may come from anywhere, so it is read with limits: at most
// 200,000 entries, no two sharing bytes, and no entry over 64 MB (a .csv) or 40 MB (a photo) when
// unpacked. An entry is inflated a little at a time and refused as soon as it unpacks to more
// than it declared, so a bomb (a few kB that inflate to gigabytes) is stopped after a few MB.

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
// Read with the data, so most entries take one read; a longer local header takes a second one.
const HEADER_SLACK = 512;
const MAX_ENTRIES = 200_000;
const MAX_CSV_BYTES = 64e6;
const MAX_FILE_BYTES = 40e6;
// Compressed bytes inflated at a time: deflate expands at most ~1,032 times, so one step makes
// at most ~17 MB before the size check runs.
const INFLATE_STEP = 16 * 1024;

const sizeText = (bytes) =>
  bytes < 1e6 ? `${bytes.toLocaleString('en-US')} bytes` : `${(bytes / 1e6).toLocaleString('en-US', { maximumFractionDigits: 1 })} MB`;

/**
 * Refuses a file of the catalogue (a .zip entry or a folder's file) larger than it may be: 64 MB
 * for a .csv, 40 MB for anything else (a photo).
 * @param {string} path
 * @param {number} size
 */
export function checkFileSize(path, size) {
  const csv = path.toLowerCase().endsWith('.csv');
  const cap = csv ? MAX_CSV_BYTES : MAX_FILE_BYTES;
  if (size > cap) throw new Error(`${path} is ${sizeText(size)} unpacked, over the ${sizeText(cap)} ${csv ? 'a .csv file' : 'a photo'} may have`);
}

let fflate = null;

function loadFflate() {
  fflate ??= import('../vendor/fflate.js').catch((error) => {
    fflate = null;
    throw new Error(`.zip support did not load (vendor/fflate.js: ${error.message}); choose the folder instead`);
  });
  return fflate;
}

async function slice(blob, start, end) {
  return new Uint8Array(await blob.slice(start, end).arrayBuffer());
}

const view = (bytes) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

// Finds the end-of-central-directory record: count, size and offset of the central directory.
async function findDirectory(blob) {
  const size = blob.size;
  if (size < EOCD_SIZE) throw new Error('not a .zip file (too short)');
  const tailStart = Math.max(0, size - EOCD_SIZE - MAX_COMMENT - 20);
  const tail = await slice(blob, tailStart, size);
  const v = view(tail);
  let at = -1;
  for (let i = tail.length - EOCD_SIZE; i >= 0; i--) {
    if (v.getUint32(i, true) === SIG_EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) throw new Error('not a .zip file (no zip directory at its end)');
  let count = v.getUint16(at + 10, true);
  let length = v.getUint32(at + 12, true);
  let offset = v.getUint32(at + 16, true);
  if (count === 0xffff || length === 0xffffffff || offset === 0xffffffff) {
    const locator = at - 20;
    if (locator < 0 || v.getUint32(locator, true) !== SIG_ZIP64_LOCATOR) {
      throw new Error('damaged .zip file (its ZIP64 directory is missing)');
    }
    const z64At = Number(v.getBigUint64(locator + 8, true));
    const z = view(await slice(blob, z64At, z64At + 56));
    if (z.byteLength < 56 || z.getUint32(0, true) !== SIG_ZIP64_EOCD) {
      throw new Error('damaged .zip file (its ZIP64 directory is unreadable)');
    }
    count = Number(z.getBigUint64(32, true));
    length = Number(z.getBigUint64(40, true));
    offset = Number(z.getBigUint64(48, true));
  }
  if (offset + length > size) throw new Error('the .zip file is truncated');
  if (count > MAX_ENTRIES) {
    throw new Error(`the .zip file lists ${count.toLocaleString('en-US')} entries; a catalogue may have at most ${MAX_ENTRIES.toLocaleString('en-US')}`);
  }
  return { count, length, offset };
}

/**
 * Lists the files of a zip archive. Returns a Map from path (with `/` separators) to
 * `{path, size, read()}`, where `read()` resolves to the file's bytes (Uint8Array).
 * @param {Blob} blob
 * @returns {Promise<Map<string, {path: string, size: number, read: () => Promise<Uint8Array>}>>}
 */
export async function openZip(blob) {
  await loadFflate(); // fail now, not at the first deflated photo
  const { count, length, offset } = await findDirectory(blob);
  const dir = await slice(blob, offset, offset + length);
  const v = view(dir);
  const utf8 = new TextDecoder();
  const entries = new Map();
  const spans = [];
  let p = 0;
  for (let n = 0; n < count; n++) {
    if (p + 46 > dir.length || v.getUint32(p, true) !== SIG_CENTRAL) {
      throw new Error('damaged .zip file (its directory is unreadable)');
    }
    const flags = v.getUint16(p + 8, true);
    const method = v.getUint16(p + 10, true);
    let packed = v.getUint32(p + 20, true);
    let size = v.getUint32(p + 24, true);
    const nameLength = v.getUint16(p + 28, true);
    const extraLength = v.getUint16(p + 30, true);
    const commentLength = v.getUint16(p + 32, true);
    let local = v.getUint32(p + 42, true);
    const name = utf8.decode(dir.subarray(p + 46, p + 46 + nameLength)).replace(/\\/g, '/');
    // ZIP64 sizes and offset live in extra field 0x0001, in this order, when the fields are full.
    let e = p + 46 + nameLength;
    const extraEnd = Math.min(e + extraLength, dir.length);
    while (e + 4 <= extraEnd) {
      const id = v.getUint16(e, true);
      const len = v.getUint16(e + 2, true);
      if (id === 1) {
        let q = e + 4;
        const next = () => {
          const value = q + 8 <= e + 4 + len ? Number(v.getBigUint64(q, true)) : null;
          q += 8;
          return value;
        };
        if (size === 0xffffffff) size = next() ?? size;
        if (packed === 0xffffffff) packed = next() ?? packed;
        if (local === 0xffffffff) local = next() ?? local;
      }
      e += 4 + len;
    }
    p += 46 + nameLength + extraLength + commentLength;
    spans.push({ name, start: local, end: local + 30 + packed });
    if (name.endsWith('/')) continue; // a folder
    const entry = { name, flags, method, packed, size, local };
    entries.set(name, { path: name, size, read: () => readEntry(blob, entry) });
  }
  // Entries that share their bytes multiply a small file into a huge one (an overlapping bomb).
  spans.sort((a, b) => a.start - b.start);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i].start < spans[i - 1].end) {
      throw new Error(`the .zip file's entries ${spans[i - 1].name} and ${spans[i].name} share their bytes, as zip bombs' do: refused`);
    }
  }
  return entries;
}

async function readEntry(blob, { name, flags, method, packed, size, local }) {
  if (flags & 1) throw new Error(`${name} is encrypted`);
  if (method !== 0 && method !== 8) {
    throw new Error(`${name} uses compression method ${method}; only stored and deflated files are read`);
  }
  checkFileSize(name, method === 0 ? Math.max(size, packed) : size);
  let chunk = await slice(blob, local, local + 30 + HEADER_SLACK + packed);
  if (chunk.length < 30 || view(chunk).getUint32(0, true) !== SIG_LOCAL) {
    throw new Error(`${name}: damaged .zip entry`);
  }
  const start = 30 + view(chunk).getUint16(26, true) + view(chunk).getUint16(28, true);
  if (start + packed > chunk.length) {
    chunk = await slice(blob, local + start, local + start + packed);
  } else {
    chunk = chunk.subarray(start, start + packed);
  }
  if (chunk.length < packed) throw new Error(`${name}: the .zip file is truncated`);
  if (method === 0) return chunk;
  return inflateAtMost(name, chunk, size, (await loadFflate()).Inflate);
}

class ZipBomb extends Error {}

// Inflates `packed` a step at a time into the `size` bytes the entry declares, stopping at the
// first byte past them.
function inflateAtMost(name, packed, size, Inflate) {
  const out = new Uint8Array(size);
  let filled = 0;
  const inflater = new Inflate((data) => {
    if (filled + data.length > size) {
      throw new ZipBomb(`${name} unpacks to more than the ${sizeText(size)} it declares: refused as a zip bomb`);
    }
    out.set(data, filled);
    filled += data.length;
  });
  try {
    let at = 0;
    do {
      inflater.push(packed.subarray(at, at + INFLATE_STEP), at + INFLATE_STEP >= packed.length);
      at += INFLATE_STEP;
    } while (at < packed.length);
  } catch (error) {
    if (error instanceof ZipBomb) throw error;
    throw new Error(`${name}: damaged .zip entry (${error.message})`);
  }
  if (filled !== size) throw new Error(`${name}: damaged .zip entry (${filled} bytes unpacked, ${size} declared)`);
  return out;
}
