/**
 * Property lists: reading XML ones (a decoded provisioning profile: `security cms -D` prints XML),
 * writing ExportOptions.plist, and reading binary ones (`bplist00`: the Info.plist Xcode writes into
 * an .app, which the worker reads from an .ipa it uploads). The binary reader takes attacker input:
 * every offset is bounds-checked, containers that refer back to themselves are refused, and objects
 * shared by several containers are decoded once.
 */

export type PlistValue = string | number | boolean | Date | Buffer | PlistValue[] | { [key: string]: PlistValue };

export class PlistError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlistError';
  }
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|[a-z]+);/g, (whole, name: string) => {
    if (name.startsWith('#x')) return String.fromCodePoint(parseInt(name.slice(2), 16));
    if (name.startsWith('#')) return String.fromCodePoint(parseInt(name.slice(1), 10));
    return ENTITIES[name] ?? whole;
  });
}

/** Parses an XML plist document; throws PlistError on anything it does not understand. */
export function parsePlist(xml: string): PlistValue {
  // Tokens: tags (<x>, </x>, <x/>) and the text between them. Comments, the XML declaration and
  // the DOCTYPE are skipped.
  const body = xml.replace(/<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!DOCTYPE[\s\S]*?>/g, '');
  const tokens = body.match(/<[^>]+>|[^<]+/g) ?? [];
  let i = 0;

  const nextTag = (): string => {
    while (i < tokens.length && !tokens[i]!.startsWith('<')) {
      if (tokens[i]!.trim() !== '') throw new PlistError(`unexpected text "${tokens[i]!.trim().slice(0, 40)}"`);
      i++;
    }
    if (i >= tokens.length) throw new PlistError('unexpected end of document');
    return tokens[i++]!;
  };
  const readText = (close: string): string => {
    let text = '';
    while (i < tokens.length && tokens[i] !== close) {
      if (tokens[i]!.startsWith('<')) throw new PlistError(`unexpected ${tokens[i]} inside ${close.replace('/', '')}`);
      text += tokens[i++]!;
    }
    if (tokens[i] !== close) throw new PlistError(`missing ${close}`);
    i++;
    return decodeEntities(text);
  };

  const readValue = (tag: string): PlistValue => {
    switch (tag) {
      case '<string>':
        return readText('</string>');
      case '<string/>':
        return '';
      case '<integer>':
        return Number(readText('</integer>').trim());
      case '<real>':
        return Number(readText('</real>').trim());
      case '<true/>':
        return true;
      case '<false/>':
        return false;
      case '<date>':
        return new Date(readText('</date>').trim());
      case '<data>':
        return Buffer.from(readText('</data>').replace(/\s+/g, ''), 'base64');
      case '<data/>':
        return Buffer.alloc(0);
      case '<array/>':
        return [];
      case '<dict/>':
        return {};
      case '<array>': {
        const items: PlistValue[] = [];
        for (let t = nextTag(); t !== '</array>'; t = nextTag()) items.push(readValue(t));
        return items;
      }
      case '<dict>': {
        const dict: Record<string, PlistValue> = {};
        for (let t = nextTag(); t !== '</dict>'; t = nextTag()) {
          if (t !== '<key>') throw new PlistError(`expected <key> in <dict>, got ${t}`);
          const key = readText('</key>');
          // Defined, not assigned: a `__proto__` key is the project's data, never the object's prototype.
          Object.defineProperty(dict, key, { value: readValue(nextTag()), enumerable: true, writable: true, configurable: true });
        }
        return dict;
      }
      default:
        throw new PlistError(`unsupported element ${tag}`);
    }
  };

  const open = nextTag();
  if (!/^<plist[\s>]/.test(open)) throw new PlistError('not a plist document');
  const value = readValue(nextTag());
  if (nextTag() !== '</plist>') throw new PlistError('more than one top-level value');
  return value;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function writeValue(value: PlistValue, indent: string): string {
  if (typeof value === 'string') return `${indent}<string>${escapeXml(value)}</string>\n`;
  if (typeof value === 'boolean') return `${indent}<${value}/>\n`;
  if (typeof value === 'number') {
    return Number.isInteger(value) ? `${indent}<integer>${value}</integer>\n` : `${indent}<real>${value}</real>\n`;
  }
  if (value instanceof Date) return `${indent}<date>${value.toISOString().replace(/\.\d{3}Z$/, 'Z')}</date>\n`;
  if (Buffer.isBuffer(value)) return `${indent}<data>${value.toString('base64')}</data>\n`;
  if (Array.isArray(value)) {
    return `${indent}<array>\n${value.map((v) => writeValue(v, `${indent}\t`)).join('')}${indent}</array>\n`;
  }
  const entries = Object.entries(value)
    .map(([k, v]) => `${indent}\t<key>${escapeXml(k)}</key>\n${writeValue(v, `${indent}\t`)}`)
    .join('');
  return `${indent}<dict>\n${entries}${indent}</dict>\n`;
}

/** Serializes a value as an XML plist document (Xcode's own layout: tabs, Apple's DOCTYPE). */
export function buildPlist(value: PlistValue): string {
  return (
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">\n' +
    '<plist version="1.0">\n' +
    writeValue(value, '') +
    '</plist>\n'
  );
}

/** Reads either form: binary when the bytes start with `bplist00`, XML otherwise. */
export function parseAnyPlist(bytes: Buffer): PlistValue {
  return bytes.subarray(0, 8).toString('latin1') === 'bplist00' ? parseBinaryPlist(bytes) : parsePlist(bytes.toString('utf8'));
}

/** Seconds between the Unix epoch and Apple's (2001-01-01T00:00:00Z). */
const APPLE_EPOCH_S = 978_307_200;

/** Parses a binary property list (Apple's bplist00 format, as CFBinaryPList.c writes it). */
export function parseBinaryPlist(buf: Buffer): PlistValue {
  if (buf.length < 8 + 32 || buf.subarray(0, 8).toString('latin1') !== 'bplist00') throw new PlistError('not a binary plist');
  const trailer = buf.length - 32;
  const offsetSize = buf[trailer + 6]!;
  const refSize = buf[trailer + 7]!;
  const count = Number(buf.readBigUInt64BE(trailer + 8));
  const top = Number(buf.readBigUInt64BE(trailer + 16));
  const tableAt = Number(buf.readBigUInt64BE(trailer + 24));
  if (offsetSize < 1 || offsetSize > 8 || refSize < 1 || refSize > 8) throw new PlistError('bad trailer');
  if (count < 1 || top >= count || tableAt < 8 || tableAt + count * offsetSize > trailer) throw new PlistError('bad offset table');

  const uint = (at: number, size: number): number => {
    if (at < 8 || at + size > trailer) throw new PlistError('offset outside the object area');
    let n = 0;
    for (let k = 0; k < size; k++) n = n * 256 + buf[at + k]!;
    if (!Number.isSafeInteger(n)) throw new PlistError('integer too large');
    return n;
  };
  const objectAt = (ref: number): number => {
    if (ref >= count) throw new PlistError('reference outside the object table');
    return uint(tableAt + ref * offsetSize, offsetSize);
  };
  const decoded = new Map<number, PlistValue>();
  const inProgress = new Set<number>();

  /** A container or string's length: in the marker's low nibble, or (0xF) in the integer object after it. */
  const lengthOf = (at: number, info: number): { n: number; start: number } => {
    if (info !== 0xf) return { n: info, start: at + 1 };
    const marker = buf[at + 1];
    if (marker === undefined || marker >> 4 !== 0x1 || (marker & 0xf) > 3) throw new PlistError('bad length');
    const size = 1 << (marker & 0xf);
    return { n: uint(at + 2, size), start: at + 2 + size };
  };
  const bytesAt = (start: number, length: number): Buffer => {
    if (start < 8 || start + length > trailer) throw new PlistError('value outside the object area');
    return buf.subarray(start, start + length);
  };

  const read = (ref: number): PlistValue => {
    const known = decoded.get(ref);
    if (known !== undefined) return known;
    if (inProgress.has(ref)) throw new PlistError('a container contains itself');
    const at = objectAt(ref);
    const marker = uint(at, 1);
    const type = marker >> 4;
    const info = marker & 0xf;
    let value: PlistValue;
    switch (type) {
      case 0x0:
        if (info === 0x8 || info === 0x9) value = info === 0x9;
        else throw new PlistError(`unsupported marker 0x${marker.toString(16)}`);
        break;
      case 0x1: {
        if (info > 3) throw new PlistError('128-bit integers are not supported');
        const size = 1 << info;
        const raw = bytesAt(at + 1, size);
        value = size === 8 ? Number(raw.readBigInt64BE(0)) : uint(at + 1, size);
        break;
      }
      case 0x2:
        if (info === 2) value = bytesAt(at + 1, 4).readFloatBE(0);
        else if (info === 3) value = bytesAt(at + 1, 8).readDoubleBE(0);
        else throw new PlistError('bad real');
        break;
      case 0x3:
        if (info !== 3) throw new PlistError('bad date');
        value = new Date((bytesAt(at + 1, 8).readDoubleBE(0) + APPLE_EPOCH_S) * 1000);
        break;
      case 0x4: {
        const { n, start } = lengthOf(at, info);
        value = Buffer.from(bytesAt(start, n));
        break;
      }
      case 0x5: {
        const { n, start } = lengthOf(at, info);
        value = bytesAt(start, n).toString('latin1');
        break;
      }
      case 0x6: {
        const { n, start } = lengthOf(at, info);
        const units = Buffer.from(bytesAt(start, n * 2));
        value = units.swap16().toString('utf16le');
        break;
      }
      case 0xa:
      case 0xd: {
        const { n, start } = lengthOf(at, info);
        const refs = type === 0xd ? 2 * n : n;
        bytesAt(start, refs * refSize); // the references are inside the object area
        inProgress.add(ref);
        if (type === 0xa) {
          const items: PlistValue[] = [];
          for (let k = 0; k < n; k++) items.push(read(uint(start + k * refSize, refSize)));
          value = items;
        } else {
          const dict: Record<string, PlistValue> = {};
          for (let k = 0; k < n; k++) {
            const key = read(uint(start + k * refSize, refSize));
            if (typeof key !== 'string') throw new PlistError('a dictionary key is not a string');
            Object.defineProperty(dict, key, { value: read(uint(start + (n + k) * refSize, refSize)), enumerable: true, writable: true, configurable: true });
          }
          value = dict;
        }
        inProgress.delete(ref);
        break;
      }
      default:
        throw new PlistError(`unsupported marker 0x${marker.toString(16)}`);
    }
    decoded.set(ref, value);
    return value;
  };
  return read(top);
}
