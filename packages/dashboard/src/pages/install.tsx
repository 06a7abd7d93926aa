/**
 * Install a build on a device: Android gets a QR code and a direct APK link (an install link that
 * works without a session for an hour); an iOS device build with app info an itms-services link to
 * its manifest (same grant) when page and controller are HTTPS, else a note saying so, and the .ipa;
 * web exports are offered as a download — user HTML is never served from this origin.
 */
import { useEffect, useState } from 'preact/hooks';
import { encode } from 'uqr';
import type { Artifact, Build, InstallLink } from '@buildmesh/protocol/browser';
import { api, artifactUrl, errorText } from '../api.js';
import { Link } from '../router.js';
import { size } from '../format.js';
import { PlatformTag, StatusBadge } from '../widgets.js';

function QrCode({ text, label }: { text: string; label: string }) {
  const { data } = encode(text, { ecc: 'M', border: 2 });
  const n = data.length;
  let path = '';
  data.forEach((row, y) =>
    row.forEach((on, x) => {
      if (on) path += `M${x} ${y}h1v1h-1z`;
    }),
  );
  return (
    <svg class="qr" viewBox={`0 0 ${n} ${n}`} role="img" aria-label={label} shape-rendering="crispEdges" data-testid="qr">
      <rect width={n} height={n} fill="#fff" />
      <path d={path} fill="#000" />
    </svg>
  );
}

export function InstallPage({ id }: { id: string }) {
  const [build, setBuild] = useState<Build | null>(null);
  const [artifacts, setArtifacts] = useState<Artifact[] | null>(null);
  const [link, setLink] = useState<InstallLink | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    (async () => {
      const [b, a] = await Promise.all([api().getBuild(id), api().listArtifacts(id)]);
      const installable = a.artifacts.find((x) => x.kind === 'application-archive') ?? a.artifacts[0];
      // A phone that scans the code has no session: the code carries a link that works without one, for an hour.
      if (installable) setLink(await api().installLink(b.id, installable.id));
      setBuild(b);
      setArtifacts(a.artifacts);
    })().catch((err: unknown) => setError(errorText(err)));
  }, [id]);

  if (error) {
    return (
      <div class="page">
        <div class="empty">
          <p class="empty-title">{error}</p>
          <p class="muted">
            <Link href="/">All builds</Link>
          </p>
        </div>
      </div>
    );
  }
  if (!build || !artifacts) return <div class="page"><div class="skeleton" aria-busy="true" /></div>;

  const archive = artifacts.find((a) => a.kind === 'application-archive') ?? artifacts[0];
  const https = location.protocol === 'https:';
  // iOS fetches the manifest and the .ipa itself: both addresses, not only this page's, must be HTTPS.
  const ota = https && (link?.manifestUrl?.startsWith('https://') ?? false);
  let body;
  if (!archive) {
    body = <p class="muted">This build has no artifact to install{build.status !== 'succeeded' ? ' (it has not succeeded)' : ''}.</p>;
  } else if (build.platform === 'android') {
    const url = link?.url ?? artifactUrl(build.id, archive.id);
    const apk = archive.name.toLowerCase().endsWith('.apk');
    body = (
      <>
        {apk ? (
          <>
            <QrCode text={url} label={`QR code linking to ${archive.name}`} />
            <p class="muted">
              Scan with the phone's camera, or open this page on the phone and tap the button. The link works without signing in
              until {link ? new Date(link.expiresAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : 'it expires'}.
            </p>
          </>
        ) : (
          <p class="callout info">
            {archive.name} is an Android App Bundle: it goes to the Play Store, not onto a phone. Build with an APK profile for
            internal distribution.
          </p>
        )}
        <a class="button primary big" href={url} download={archive.name}>
          Download {archive.name}
        </a>
        <p class="muted small">
          {size(archive.size)} · sha256 <span class="mono">{archive.sha256}</span>
        </p>
      </>
    );
  } else if (build.platform === 'ios') {
    const simulator = !archive.name.toLowerCase().endsWith('.ipa');
    const url = link?.url ?? artifactUrl(build.id, archive.id);
    body = simulator ? (
      <>
        <p class="callout info">This is a simulator build: drag it onto a running iOS Simulator.</p>
        <a class="button primary big" href={artifactUrl(build.id, archive.id)} download={archive.name}>
          Download {archive.name}
        </a>
      </>
    ) : (
      <>
        {archive.app && (
          <p class="muted">
            {archive.app.title} {archive.app.version} ({archive.app.build}) · <span class="mono">{archive.app.bundleId}</span>
          </p>
        )}
        {link?.manifestUrl && ota ? (
          <>
            <a class="button primary big" href={`itms-services://?action=download-manifest&url=${encodeURIComponent(link.manifestUrl)}`}>
              Install {archive.app?.title ?? archive.name} on this iPhone
            </a>
            <p class="muted">
              Open this page on the iPhone or iPad and tap the button (the device must be in the ad hoc profile, or trust the
              enterprise developer). The link works without signing in until{' '}
              {new Date(link.expiresAt).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}.
            </p>
          </>
        ) : link?.manifestUrl ? (
          <p class="callout warn" role="note" data-testid="https-note">
            iOS installs apps over the air (itms-services) only from an HTTPS address, and{' '}
            {https
              ? 'the controller sees this request as plain HTTP: set BUILDMESH_TRUSTED_PROXIES to the TLS proxy in front of it'
              : 'this dashboard is served over plain HTTP: put the controller behind TLS (README, "Dashboard")'}{' '}
            to install from this page on an iPhone. Until then, install the .ipa with Apple Configurator or Finder on a Mac.
          </p>
        ) : (
          <p class="callout info">
            Over-the-air install needs the app's bundle identifier, version and name, which the worker could not read from this
            .ipa's Info.plist (its build log says why). Install the .ipa with Apple Configurator or Finder on a Mac (the device
            must be in the ad hoc provisioning profile).
          </p>
        )}
        <a class={link?.manifestUrl && ota ? 'button' : 'button primary big'} href={url} download={archive.name}>
          Download {archive.name} ({size(archive.size)})
        </a>
      </>
    );
  } else {
    body = (
      <>
        <p class="callout info">An exported web site is offered as a download only; it is never served from this dashboard's address.</p>
        {artifacts.map((a) => (
          <a key={a.id} class="button primary" href={artifactUrl(build.id, a.id)} download={a.name}>
            Download {a.name} ({size(a.size)})
          </a>
        ))}
      </>
    );
  }

  return (
    <div class="page install-page">
      <nav class="crumbs" aria-label="Breadcrumb">
        <Link href="/">Builds</Link> / <Link href={`/builds/${build.id}`}>{build.id.slice(-8)}</Link> / install
      </nav>
      <div class="card install-card">
        <div class="head-line">
          <StatusBadge status={build.status} />
          <PlatformTag platform={build.platform} />
          <span class="chip">{build.profileName}</span>
        </div>
        <h1>{build.project}</h1>
        <p class="muted">{build.message || 'No message'}</p>
        {body}
      </div>
    </div>
  );
}
