//! HTTPS without a proxy: the certificate chain and private key from two PEM
//! files, served through rustls on the aws-lc-rs provider with ALPN `h2` and
//! `http/1.1`, and re-read on `SIGHUP` or when either file changes, so a
//! certificate rotates without a restart: new handshakes get the new pair, open
//! connections keep theirs, the listener never stops. A pair that fails to load
//! on reload is logged and the previous one stays.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::crypto::{CryptoProvider, aws_lc_rs};
use tokio_rustls::rustls::pki_types::pem::{self, PemObject};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::server::{ClientHello, ResolvesServerCert};
use tokio_rustls::rustls::sign::CertifiedKey;
use tokio_rustls::rustls::{self, ServerConfig};

/// How often the files' modification times are looked at.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// Larger files are refused (a certificate chain is a few kilobytes).
const MAX_FILE_BYTES: u64 = 1024 * 1024;

/// ALPN: HTTP/2 when the client offers it, HTTP/1.1 otherwise.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// Which of the two files a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsFile {
    Certificate,
    Key,
}

/// Why a certificate/key pair could not be loaded. Messages name the file,
/// never its content.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        file: TlsFile,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is larger than {MAX_FILE_BYTES} bytes", path.display())]
    TooLarge { file: TlsFile, path: PathBuf },
    #[error("{} is not valid PEM: {problem}", path.display())]
    BadPem {
        file: TlsFile,
        path: PathBuf,
        problem: &'static str,
    },
    #[error("{} holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path.display())]
    NoCertificate { path: PathBuf },
    #[error(
        "{} holds no PEM private key (PKCS#8 PRIVATE KEY, PKCS#1 RSA PRIVATE KEY or SEC1 EC PRIVATE KEY)",
        path.display()
    )]
    NoKey { path: PathBuf },
    #[error("the private key in {} is not usable: {source}", path.display())]
    UnusableKey {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error("the certificate in {} is not usable: {source}", path.display())]
    BadCertificate {
        path: PathBuf,
        source: rustls::Error,
    },
    #[error("the private key in {} does not match the certificate in {}", key.display(), cert.display())]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("TLS configuration: {0}")]
    Config(rustls::Error),
}

impl TlsError {
    /// The file the problem is in (a key that does not match its certificate
    /// counts as the key's).
    pub fn file(&self) -> TlsFile {
        match self {
            Self::Read { file, .. } | Self::TooLarge { file, .. } | Self::BadPem { file, .. } => {
                *file
            }
            Self::NoCertificate { .. } | Self::BadCertificate { .. } | Self::Config(_) => {
                TlsFile::Certificate
            }
            Self::NoKey { .. } | Self::UnusableKey { .. } | Self::Mismatch { .. } => TlsFile::Key,
        }
    }
}

/// The two files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, end-entity certificate first.
    pub cert: PathBuf,
    /// PEM private key: PKCS#8, PKCS#1 (RSA) or SEC1 (EC).
    pub key: PathBuf,
}

/// What a file looked like when last seen: a change to any part means
/// re-read. The modification time and size alone miss a renewed certificate
/// of the same size copied with its time kept (`cp -p`, `rsync -t`); the
/// inode (a file replaced by rename) and the status-change time (any write or
/// copy sets it, whatever the copy keeps) do not.
type Stamp = Option<(SystemTime, u64, u64, i64, i64)>;

fn stamp(path: &Path) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).ok()?;
    Some((
        meta.modified().ok()?,
        meta.len(),
        meta.ino(),
        meta.ctime(),
        meta.ctime_nsec(),
    ))
}

/// The pair being served, swapped whole on reload.
pub struct Certificates {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: ArcSwap<CertifiedKey>,
}

impl fmt::Debug for Certificates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificates")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl Certificates {
    /// Loads the pair, checking that the key matches the certificate.
    pub fn load(files: TlsFiles) -> Result<Arc<Self>, TlsError> {
        let provider = Arc::new(aws_lc_rs::default_provider());
        let pair = load_pair(&files, &provider)?;
        Ok(Arc::new(Self {
            files,
            provider,
            current: ArcSwap::from_pointee(pair),
        }))
    }

    /// Reads both files again; on success new handshakes get the new pair, on
    /// failure the previous one stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let pair = load_pair(&self.files, &self.provider)?;
        self.current.store(Arc::new(pair));
        Ok(())
    }

    /// The rustls acceptor: TLS 1.2 and 1.3 (the provider's safe defaults),
    /// no client certificates, ALPN `h2` then `http/1.1`, the certificate read
    /// from this set at each handshake.
    pub fn acceptor(self: &Arc<Self>) -> Result<TlsAcceptor, TlsError> {
        let mut config = ServerConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Config)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Resolver(self.clone())));
        config.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        Ok(TlsAcceptor::from(Arc::new(config)))
    }

    fn stamps(&self) -> (Stamp, Stamp) {
        (stamp(&self.files.cert), stamp(&self.files.key))
    }
}

/// Every handshake gets the pair loaded last.
#[derive(Debug)]
struct Resolver(Arc<Certificates>);

impl ResolvesServerCert for Resolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.current.load_full())
    }
}

fn read_bounded(file: TlsFile, path: &Path) -> Result<Vec<u8>, TlsError> {
    let read = |source| TlsError::Read {
        file,
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(read)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(TlsError::TooLarge {
            file,
            path: path.to_owned(),
        });
    }
    Ok(bytes)
}

/// The kind of a PEM problem, without any of the file's content.
fn bad_pem(file: TlsFile, path: &Path, e: &pem::Error) -> TlsError {
    let problem = match e {
        pem::Error::MissingSectionEnd { .. } => "a section has no END line",
        pem::Error::IllegalSectionStart { .. } => "a malformed BEGIN line",
        pem::Error::Base64Decode(_) => "a section is not valid base64",
        _ => "unreadable",
    };
    TlsError::BadPem {
        file,
        path: path.to_owned(),
        problem,
    }
}

fn load_pair(files: &TlsFiles, provider: &CryptoProvider) -> Result<CertifiedKey, TlsError> {
    let cert_pem = read_bounded(TlsFile::Certificate, &files.cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_pem(TlsFile::Certificate, &files.cert, &e))?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: files.cert.clone(),
        });
    }
    let key_pem = read_bounded(TlsFile::Key, &files.key)?;
    let key = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(key) => key,
        Err(pem::Error::NoItemsFound) => {
            return Err(TlsError::NoKey {
                path: files.key.clone(),
            });
        }
        Err(e) => return Err(bad_pem(TlsFile::Key, &files.key, &e)),
    };
    let signing_key = provider
        .key_provider
        .load_private_key(key)
        .map_err(|source| TlsError::UnusableKey {
            path: files.key.clone(),
            source,
        })?;
    let pair = CertifiedKey::new(chain, signing_key);
    // Every aws-lc-rs key knows its public key, so "unknown" is not an answer
    // here: anything but a match is refused.
    match pair.keys_match() {
        Ok(()) => Ok(pair),
        Err(rustls::Error::InconsistentKeys(_)) => Err(TlsError::Mismatch {
            cert: files.cert.clone(),
            key: files.key.clone(),
        }),
        Err(source) => Err(TlsError::BadCertificate {
            path: files.cert.clone(),
            source,
        }),
    }
}

/// Re-reads the pair on `SIGHUP` and when either file's modification time or
/// size changes (looked at every `poll`), until `stop` changes. A failure is
/// one error line naming the file; the previous pair keeps being served.
pub fn spawn_reloader(
    certs: Arc<Certificates>,
    poll: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    // Listening before returning: from here on SIGHUP reloads (its default
    // action would end the process).
    let mut hangup = Hangup::new();
    tokio::spawn(async move {
        let mut seen = certs.stamps();
        let mut tick = tokio::time::interval(poll);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            let trigger = tokio::select! {
                _ = stop.changed() => break,
                () = hangup.recv() => "SIGHUP",
                _ = tick.tick() => {
                    let now = certs.stamps();
                    if now == seen {
                        continue;
                    }
                    "file change"
                }
            };
            // Seen before reading: a file changing while it is read is read
            // again at the next look.
            seen = certs.stamps();
            let reloading = certs.clone();
            match tokio::task::spawn_blocking(move || reloading.reload()).await {
                Ok(Ok(())) => tracing::info!(trigger, "TLS certificate reloaded"),
                Ok(Err(e)) => tracing::error!(
                    trigger,
                    error = %e,
                    "TLS certificate not reloaded; still serving the previous one"
                ),
                Err(e) => tracing::error!(trigger, error = %e, "TLS certificate reload failed"),
            }
        }
    })
}

/// `SIGHUP`, where there is such a thing.
struct Hangup {
    #[cfg(unix)]
    signal: Option<tokio::signal::unix::Signal>,
}

impl Hangup {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let signal = signal(SignalKind::hangup())
                .inspect_err(|e| tracing::warn!(error = %e, "cannot listen for SIGHUP"))
                .ok();
            Self { signal }
        }
        #[cfg(not(unix))]
        {
            Self {}
        }
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        if let Some(signal) = &mut self.signal {
            if signal.recv().await.is_some() {
                return;
            }
            self.signal = None;
        }
        std::future::pending::<()>().await
    }
}
