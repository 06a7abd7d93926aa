/**
 * XML property lists, as much as signing needs: reading a decoded provisioning profile
 * (`security cms -D` prints one) and writing ExportOptions.plist. Binary plists are not read;
 * `security cms -D` always prints XML.
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
          dict[key] = readValue(nextTag());
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
