//! Connecting to the shared journal: `journalUrl` parsed and checked, TLS by rustls.
//!
//! The URL is `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB` (or `postgres://`), parsed by the
//! `postgres` crate, so libpq's forms work too: a Unix-socket folder as a percent-encoded host
//! (`postgresql://station@%2Fvar%2Frun%2Fpostgresql/kiosk`) or `?host=/var/run/postgresql`.
//! Without a password in the URL, `PGPASSWORD` supplies it at connect time.
//!
//! The journal holds the audit trail and sealed PINs: beyond this machine it travels only over
//! TLS, and the server's certificate is always verified (system roots, or the CA file of
//! `journalCaFile` alone). Loopback addresses and Unix sockets may go without TLS; `sslmode=
//! require` asks for it there too. No message here ever holds the password.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use postgres::config::{Host, SslMode};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use zeroize::Zeroizing;

/// The environment variable that supplies the password when the URL has none (as for libpq).
pub const PASSWORD_ENV: &str = "PGPASSWORD";

/// How long a connection attempt may take unless the URL says (`connect_timeout=SECONDS`):
/// an unreachable server is reported instead of waiting for the system's TCP timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What is wrong with a `journalUrl`, or why the journal could not be reached.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// Not a `postgresql://` URL at all.
    #[error(
        "journalUrl must be a URL of the form postgresql://USER@HOST:PORT/DB (or postgres://...)"
    )]
    NotUrl,
    /// The `postgres` crate could not parse it.
    #[error(
        "journalUrl is not a valid PostgreSQL URL ({detail}): write postgresql://USER@HOST:PORT/DB"
    )]
    Syntax {
        /// The parser's reason (it never quotes values).
        detail: String,
    },
    /// A part every station needs is missing.
    #[error("journalUrl names no {part}: write postgresql://USER@HOST:PORT/DB")]
    Missing {
        /// "user", "database" or "host".
        part: &'static str,
    },
    /// TLS turned off towards a host beyond this machine.
    #[error("journalUrl {url}: {host} is not a loopback address, and sslmode=disable would send the journal (audit trail, sealed PINs) there unencrypted; remove sslmode=disable: beyond this machine the journal is reached only over TLS")]
    PlainToRemote {
        /// The URL, without its password.
        url: String,
        /// The remote host.
        host: String,
    },
    /// TLS asked for on a Unix socket, where PostgreSQL offers none.
    #[error("journalUrl {url} asks for TLS (sslmode=require) on a Unix socket, where PostgreSQL offers none: remove sslmode=require (a socket never leaves this machine) or give a host name")]
    TlsOnSocket {
        /// The URL, without its password.
        url: String,
    },
    /// The configured CA file could not be read.
    #[error("journalCaFile {path}: {source}; point it at a PEM file with the certificate of the CA that signed the PostgreSQL server's certificate")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// The OS reason.
        source: std::io::Error,
    },
    /// The configured CA file holds no usable certificate.
    #[error("journalCaFile {path} holds no usable PEM certificate ({detail}); point it at a PEM file with the certificate of the CA that signed the PostgreSQL server's certificate")]
    CaFileContent {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        detail: String,
    },
    /// No system root certificates to verify the server with.
    #[error("no trusted root certificates on this system to verify the journal server's TLS certificate: install the ca-certificates package, or set journalCaFile to the CA that signed the server's certificate")]
    NoSystemRoots,
    /// rustls refused the TLS set-up.
    #[error("TLS set-up for the journal: {0}")]
    Tls(#[from] rustls::Error),
    /// The server could not be reached, refused the login, or the TLS handshake failed.
    #[error("journal {url}: {reason}; check that PostgreSQL is running and reachable there, the user, password (in journalUrl or PGPASSWORD) and database, and for TLS that its certificate is signed by a trusted CA (journalCaFile) for that host name")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// The server's or the client's reason, in full.
        reason: String,
        /// The client's error.
        source: postgres::Error,
    },
}

/// Where the trust for a TLS connection comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// The operating system's store (rustls-native-certs).
    System,
    /// Only the CA certificate(s) in this PEM file (`journalCaFile`).
    CaFile(PathBuf),
}

/// A checked `journalUrl`: never printed with its password.
#[derive(Clone)]
pub struct JournalUrl {
    config: postgres::Config,
    tls: bool,
    /// As given: the identity of the URL (`postgres::Config` has no equality).
    text: Zeroizing<String>,
}

impl PartialEq for JournalUrl {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl JournalUrl {
    /// Parses and checks `url` (from `journalUrl` or `PASSKEY_KIOSK_JOURNAL_URL`).
    pub fn parse(url: &str) -> Result<JournalUrl, ConnectError> {
        let url = url.trim();
        if !(url.starts_with("postgresql://") || url.starts_with("postgres://")) {
            return Err(ConnectError::NotUrl);
        }
        let mut config: postgres::Config =
            url.parse()
                .map_err(|e: postgres::Error| ConnectError::Syntax {
                    detail: e.to_string(),
                })?;
        if config.get_user().is_none_or(str::is_empty) {
            return Err(ConnectError::Missing { part: "user" });
        }
        if config.get_dbname().is_none_or(str::is_empty) {
            return Err(ConnectError::Missing { part: "database" });
        }
        if config.get_hosts().is_empty() {
            return Err(ConnectError::Missing { part: "host" });
        }
        let remote = config
            .get_hosts()
            .iter()
            .filter_map(|h| match h {
                Host::Tcp(name) if !is_loopback_name(name) => Some(name.clone()),
                _ => None,
            })
            .chain(
                config
                    .get_hostaddrs()
                    .iter()
                    .filter(|a| !a.is_loopback())
                    .map(IpAddr::to_string),
            )
            .next();
        let tls = match (remote, config.get_ssl_mode()) {
            (Some(host), SslMode::Disable) => {
                let url = redacted(&config);
                return Err(ConnectError::PlainToRemote { url, host });
            }
            (Some(_), _) | (None, SslMode::Require) => true,
            (None, _) => false,
        };
        if tls
            && config
                .get_hosts()
                .iter()
                .any(|h| matches!(h, Host::Unix(_)))
        {
            return Err(ConnectError::TlsOnSocket {
                url: redacted(&config),
            });
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(DEFAULT_CONNECT_TIMEOUT);
        }
        // Prefer would fall back to plain text when the server offers no TLS: either TLS is
        // required, or it is not attempted.
        config.ssl_mode(if tls {
            SslMode::Require
        } else {
            SslMode::Disable
        });
        Ok(JournalUrl {
            config,
            tls,
            text: Zeroizing::new(url.to_string()),
        })
    }

    /// Whether connections use TLS (always beyond loopback and Unix sockets).
    pub fn uses_tls(&self) -> bool {
        self.tls
    }

    /// How long one connection attempt may take.
    pub fn connect_timeout(&self) -> Duration {
        self.config
            .get_connect_timeout()
            .copied()
            .unwrap_or(DEFAULT_CONNECT_TIMEOUT)
    }

    /// The role the station logs in as.
    pub fn user(&self) -> &str {
        self.config.get_user().unwrap_or_default()
    }

    /// The database.
    pub fn database(&self) -> &str {
        self.config.get_dbname().unwrap_or_default()
    }

    /// Whether the URL carries a password (else `PGPASSWORD` must).
    pub fn has_password(&self) -> bool {
        self.config.get_password().is_some()
    }

    /// Connects; `env_password` (from [`PASSWORD_ENV`]) is used when the URL has none.
    pub fn connect(
        &self,
        roots: &Roots,
        env_password: Option<&Zeroizing<String>>,
    ) -> Result<postgres::Client, ConnectError> {
        let mut config = self.config.clone();
        if !self.has_password() {
            if let Some(password) = env_password {
                config.password(password.as_bytes());
            }
        }
        let connected = if self.tls {
            config.connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls_config(
                roots,
            )?))
        } else {
            config.connect(postgres::NoTls)
        };
        connected.map_err(|source| ConnectError::Connect {
            url: self.to_string(),
            reason: super::reason(&source),
            source,
        })
    }

    /// Connects with the password of `PGPASSWORD` when the URL has none.
    pub fn connect_from_env(&self, roots: &Roots) -> Result<postgres::Client, ConnectError> {
        let env_password = std::env::var(PASSWORD_ENV).ok().map(Zeroizing::new);
        self.connect(roots, env_password.as_ref())
    }
}

/// The URL as it can be shown: without the password.
impl fmt::Display for JournalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&redacted(&self.config))
    }
}

impl fmt::Debug for JournalUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JournalUrl({self}, tls: {})", self.tls)
    }
}

/// `postgresql://USER@HOST:PORT,.../DB`, sockets shown as their folder; never the password.
fn redacted(config: &postgres::Config) -> String {
    let ports = config.get_ports();
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(i, host)| {
            let name = match host {
                Host::Tcp(name) if name.contains(':') => format!("[{name}]"),
                Host::Tcp(name) => name.clone(),
                Host::Unix(folder) => folder.display().to_string(),
            };
            let port = ports.get(i).or(ports.first()).copied().unwrap_or(5432);
            format!("{name}:{port}")
        })
        .collect();
    format!(
        "postgresql://{}@{}/{}",
        config.get_user().unwrap_or_default(),
        hosts.join(","),
        config.get_dbname().unwrap_or_default()
    )
}

fn is_loopback_name(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// rustls with ring, verifying the server against `roots` (and its name, always).
fn tls_config(roots: &Roots) -> Result<rustls::ClientConfig, ConnectError> {
    let mut store = rustls::RootCertStore::empty();
    match roots {
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
        }
        Roots::CaFile(path) => {
            let certs = read_ca_file(path)?;
            for cert in certs {
                store.add(cert).map_err(|e| ConnectError::CaFileContent {
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
            }
        }
    }
    if store.is_empty() {
        return Err(ConnectError::NoSystemRoots);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(store)
        .with_no_client_auth())
}

fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, ConnectError> {
    let bytes = std::fs::read(path).map_err(|source| ConnectError::CaFile {
        path: path.to_path_buf(),
        source,
    })?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| ConnectError::CaFileContent {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(ConnectError::CaFileContent {
            path: path.to_path_buf(),
            detail: "no BEGIN CERTIFICATE block".into(),
        });
    }
    Ok(certs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(url: &str) -> String {
        JournalUrl::parse(url).unwrap_err().to_string()
    }

    #[test]
    fn loopback_and_sockets_go_plain_remote_hosts_need_tls() {
        for plain in [
            "postgresql://station@127.0.0.1:5432/kiosk",
            "postgres://station@localhost/kiosk",
            "postgresql://station@[::1]:6000/kiosk",
            "postgresql://station@%2Fvar%2Frun%2Fpostgresql/kiosk",
            "postgresql:///kiosk?host=/var/run/postgresql&user=station",
        ] {
            let u = JournalUrl::parse(plain).unwrap();
            assert!(!u.uses_tls(), "{plain}");
            assert_eq!((u.user(), u.database()), ("station", "kiosk"));
        }
        let asked = JournalUrl::parse("postgresql://station@localhost/kiosk?sslmode=require");
        assert!(asked.unwrap().uses_tls());
        let e = refused("postgresql://station:hunter2@%2Frun%2Fpg/kiosk?sslmode=require");
        assert!(
            e.contains("remove sslmode=require") && !e.contains("hunter2"),
            "{e}"
        );
        for remote in [
            "postgresql://station@db.example.org/kiosk",
            "postgresql://station@10.1.2.3:5433/kiosk?sslmode=prefer",
            // A loopback name with a remote address is remote.
            "postgresql://station@localhost/kiosk?hostaddr=192.0.2.7",
            "postgresql://station@localhost,db.example.org/kiosk",
        ] {
            assert!(JournalUrl::parse(remote).unwrap().uses_tls(), "{remote}");
        }
    }

    #[test]
    fn plain_text_to_a_remote_host_is_refused_with_the_remedy() {
        let e = refused("postgresql://station:hunter2@db.example.org:5433/kiosk?sslmode=disable");
        assert!(
            e.contains("db.example.org is not a loopback address"),
            "{e}"
        );
        assert!(e.contains("remove sslmode=disable"), "{e}");
        assert!(
            e.contains("postgresql://station@db.example.org:5433/kiosk"),
            "{e}"
        );
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn malformed_urls_say_what_to_write_and_never_the_password() {
        for (url, says) in [
            ("host=db user=station dbname=kiosk", "must be a URL"),
            ("https://station@db/kiosk", "must be a URL"),
            ("postgresql://db.example.org/kiosk", "names no user"),
            (
                "postgresql://station:hunter2@db.example.org",
                "names no database",
            ),
            ("postgresql://station:hunter2@/kiosk", "names no host"),
            (
                "postgresql://station:hunter2@db:port/kiosk",
                "not a valid PostgreSQL URL",
            ),
            (
                "postgresql://station:hunter2@db/kiosk?sslmode=verify",
                "not a valid",
            ),
        ] {
            let e = refused(url);
            assert!(e.contains(says), "{url}: {e}");
            assert!(e.contains("postgresql://USER@HOST:PORT/DB"), "{url}: {e}");
            assert!(!e.contains("hunter2"), "{url}: {e}");
        }
    }

    #[test]
    fn an_attempt_to_connect_is_bounded() {
        let default = JournalUrl::parse("postgresql://station@db.example.org/kiosk").unwrap();
        assert_eq!(default.connect_timeout(), DEFAULT_CONNECT_TIMEOUT);
        let given =
            JournalUrl::parse("postgresql://station@db.example.org/kiosk?connect_timeout=3")
                .unwrap();
        assert_eq!(given.connect_timeout(), Duration::from_secs(3));
    }

    #[test]
    fn shown_without_password() {
        let u =
            JournalUrl::parse("postgresql://station:hunter2@db.example.org:5433/kiosk").unwrap();
        assert!(u.has_password());
        assert_eq!(
            u.to_string(),
            "postgresql://station@db.example.org:5433/kiosk"
        );
        let debug = format!("{u:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
        let socket = JournalUrl::parse("postgresql://station@%2Frun%2Fpg/kiosk").unwrap();
        assert!(!socket.has_password());
        assert_eq!(
            socket.to_string(),
            "postgresql://station@/run/pg:5432/kiosk"
        );
    }

    #[test]
    fn a_ca_file_without_certificates_is_refused_with_the_remedy() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.pem");
        let e = tls_config(&Roots::CaFile(missing)).unwrap_err().to_string();
        assert!(
            e.contains("absent.pem") && e.contains("point it at a PEM file"),
            "{e}"
        );
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let e = tls_config(&Roots::CaFile(empty)).unwrap_err().to_string();
        assert!(e.contains("no usable PEM certificate"), "{e}");
    }
}
