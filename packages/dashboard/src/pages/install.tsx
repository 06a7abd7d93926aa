/**
 * Install a build on a device: Android gets a QR code and a direct APK link; iOS ad hoc and
 * enterprise builds an itms-services link (iOS accepts it only over HTTPS); web exports are
 * offered as a download — user HTML is never served from this origin.
 */
import { useEffect, useState } from 'preact/hooks';
import { encode } from 'uqr';
import type { Artifact, Build } from '@buildmesh/protocol/browser';
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
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    Promise.all([api().getBuild(id), api().listArtifacts(id)]).then(
      ([b, a]) => {
        setBuild(b);
        setArtifacts(a.artifacts);
      },
      (err: unknown) => setError(errorText(err)),
    );
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
  let body;
  if (!archive) {
    body = <p class="muted">This build has no artifact to install{build.status !== 'succeeded' ? ' (it has not succeeded)' : ''}.</p>;
  } else if (build.platform === 'android') {
    const url = artifactUrl(build.id, archive.id);
    const apk = archive.name.toLowerCase().endsWith('.apk');
    body = (
      <>
        {apk ? (
          <>
            <QrCode text={url} label={`QR code linking to ${archive.name}`} />
            <p class="muted">Scan with the phone's camera, or open this page on the phone and tap the button.</p>
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
    const manifest = `${location.origin}/v1/builds/${encodeURIComponent(build.id)}/manifest.plist`;
    const itms = `itms-services://?action=download-manifest&url=${encodeURIComponent(manifest)}`;
    const simulator = !archive.name.toLowerCase().endsWith('.ipa');
    body = simulator ? (
      <>
        <p class="callout info">This is a simulator build: drag it onto a running iOS Simulator.</p>
        <a class="button primary big" href={artifactUrl(build.id, archive.id)} download={archive.name}>
          Download {archive.name}
        </a>
      </>
    ) : (
      <>
        {!https && (
          <p class="callout warn" role="note">
            iOS installs over the air only from an HTTPS address. This dashboard is served over plain HTTP, so the install link below
            will not work on a device: put the controller behind TLS (see the README's Dashboard section).
          </p>
        )}
        <QrCode text={itms} label="QR code with the itms-services install link" />
        <a class="button primary big" href={itms}>
          Install on this iPhone
        </a>
        <p class="muted small">Ad hoc and enterprise builds only; the device must be in the provisioning profile (ad hoc).</p>
        <a class="button" href={artifactUrl(build.id, archive.id)} download={archive.name}>
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
