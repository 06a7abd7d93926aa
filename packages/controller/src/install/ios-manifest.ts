/**
 * The manifest an iPhone reads for an over-the-air install (itms-services://?action=download-manifest
 * &url=…): an XML property list naming the .ipa's address, bundle identifier, version and title. Every
 * value is build output or an address the caller chose: each is XML-escaped, and characters XML 1.0
 * cannot carry become U+FFFD.
 */
import type { IosAppInfo } from '@buildmesh/protocol';

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function xmlEscape(text: string): string {
  return text
    .replace(/[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\u{10000}-\u{10ffff}]/gu, '\ufffd')
    .replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

export function renderInstallManifest(ipaUrl: string, app: IosAppInfo): string {
  const s = (v: string) => `<string>${xmlEscape(v)}</string>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
  <key>items</key>
  <array>
    <dict>
      <key>assets</key>
      <array>
        <dict>
          <key>kind</key>${s('software-package')}
          <key>url</key>${s(ipaUrl)}
        </dict>
      </array>
      <key>metadata</key>
      <dict>
        <key>bundle-identifier</key>${s(app.bundleId)}
        <key>bundle-version</key>${s(app.version)}
        <key>kind</key>${s('software')}
        <key>title</key>${s(app.title)}
      </dict>
    </dict>
  </array>
</dict>
</plist>
`;
}
