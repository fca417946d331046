//! A real PostgreSQL for the journal tests: Debian's server binaries, a cluster `initdb`'d into
//! a temporary folder, listening on 127.0.0.1 at a free port (its Unix socket in the same
//! folder), with a database and a least-privilege role for the station. Stopped (fast
//! shutdown) and deleted on drop; [`PgServer::restart`] is for the fault tests.
//! [`PgServer::start_with_tls`] also serves TLS with a certificate for `localhost` from a test
//! CA (made with the `openssl` tool, which Debian's PostgreSQL depends on).
//!
//! PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` OS user
//! (which `.ci/run` makes sure exists) and every server command runs through `runuser`.
#![allow(dead_code)]

use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The station's role: no superuser, no CREATEDB/CREATEROLE; it owns only its schema.
pub const STATION_ROLE: &str = "station";
/// The station role's password (password authentication over TCP).
pub const STATION_PASSWORD: &str = "station-secret-Zq7";
/// The journal's database.
pub const DATABASE: &str = "kiosk";
/// The schema the station owns; the role's `search_path` points there.
pub const SCHEMA: &str = "kiosk";
/// The cluster's superuser (trusted only on the Unix socket, which only its folder reaches).
const SUPERUSER: &str = "postgres";

/// A running PostgreSQL cluster, stopped and deleted on drop.
pub struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// `Some("postgres")` when the tests run as root.
    run_as: Option<&'static str>,
    running: bool,
    tls: bool,
}

impl PgServer {
    /// Creates and starts a cluster, with the station's database, schema and role.
    pub fn start() -> PgServer {
        PgServer::create(false)
    }

    /// Like [`PgServer::start`], also serving TLS with a certificate for `localhost` signed by
    /// the test CA in [`PgServer::ca_file`].
    pub fn start_with_tls() -> PgServer {
        PgServer::create(true)
    }

    fn create(tls: bool) -> PgServer {
        let bin = binaries();
        let run_as = running_as_root().then_some("postgres");
        let dir = tempfile::Builder::new()
            .prefix("pg-journal-")
            .tempdir()
            .expect("temporary folder for PostgreSQL");
        if run_as.is_some() {
            give_to_postgres_user(dir.path());
        }
        let mut server = PgServer {
            dir,
            bin,
            port: 0,
            run_as,
            running: false,
            tls,
        };
        server.initdb();
        if tls {
            server.make_certificates();
        }
        // A free port can be taken by another test between the probe and the server's bind:
        // then try another.
        let mut last = String::new();
        for _ in 0..5 {
            server.port = free_port();
            match server.try_start() {
                Ok(()) => {
                    server.create_station_database();
                    return server;
                }
                Err(log) => last = log,
            }
        }
        panic!("PostgreSQL did not start:\n{last}");
    }

    /// The station's URL over TCP on loopback (password in the URL).
    pub fn url(&self) -> String {
        format!(
            "postgresql://{STATION_ROLE}:{STATION_PASSWORD}@127.0.0.1:{}/{DATABASE}",
            self.port
        )
    }

    /// The station's URL without its password (for `PGPASSWORD`).
    pub fn url_without_password(&self) -> String {
        format!(
            "postgresql://{STATION_ROLE}@127.0.0.1:{}/{DATABASE}",
            self.port
        )
    }

    /// The station's URL over the Unix socket (the folder percent-encoded as the host).
    pub fn socket_url(&self) -> String {
        let folder = self.socket_dir().display().to_string().replace('/', "%2F");
        format!(
            "postgresql://{STATION_ROLE}:{STATION_PASSWORD}@{folder}:{}/{DATABASE}",
            self.port
        )
    }

    /// The station's URL by name (`localhost`, the name in the server's certificate), with
    /// TLS required.
    pub fn tls_url(&self) -> String {
        format!(
            "postgresql://{STATION_ROLE}:{STATION_PASSWORD}@localhost:{}/{DATABASE}?sslmode=require",
            self.port
        )
    }

    /// The test CA that signed the server's certificate (PEM).
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Another CA, which signed nothing the server has (PEM).
    pub fn stranger_ca_file(&self) -> PathBuf {
        self.dir.path().join("stranger-ca.pem")
    }

    /// The TCP port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The folder holding the server's Unix socket.
    pub fn socket_dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }

    /// A superuser connection to `database` over the Unix socket (for set-up and inspection).
    pub fn admin(&self, database: &str) -> postgres::Client {
        postgres::Config::new()
            .host_path(self.socket_dir())
            .port(self.port)
            .user(SUPERUSER)
            .dbname(database)
            .connect(postgres::NoTls)
            .unwrap_or_else(|e| panic!("superuser connection to {database}: {e}"))
    }

    /// Empties the station's schema (drops it with everything in it and creates it again),
    /// for the next test on the same server.
    pub fn reset_schema(&self) {
        self.admin(DATABASE)
            .batch_execute(&format!(
                "DROP SCHEMA {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA} AUTHORIZATION {STATION_ROLE};"
            ))
            .expect("station schema emptied");
    }

    /// Stops the server (fast shutdown: sessions are ended, committed work is kept).
    pub fn stop(&mut self) {
        if self.running {
            let out = self.pg_ctl(&["stop", "-m", "fast", "-w"]);
            assert!(out.status.success(), "pg_ctl stop: {}", self.describe(&out));
            self.running = false;
        }
    }

    /// Starts the stopped server again on the same port.
    pub fn start_again(&mut self) {
        if let Err(log) = self.try_start() {
            panic!("PostgreSQL did not start again:\n{log}");
        }
    }

    /// Stops and starts the server: every open connection is cut.
    pub fn restart(&mut self) {
        self.stop();
        self.start_again();
    }

    /// Whether the server is running (as far as this harness started and stopped it).
    pub fn is_running(&self) -> bool {
        self.running
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn log_file(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }

    fn initdb(&self) {
        let data = self.data_dir();
        let out = self.run(
            "initdb",
            &[
                "-D",
                path_str(&data),
                "-U",
                SUPERUSER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
        );
        assert!(out.status.success(), "initdb: {}", self.describe(&out));
    }

    fn try_start(&mut self) -> Result<(), String> {
        // Loopback only; no fsync: a test cluster needs no durability against power cuts,
        // and fast shutdowns still write everything out.
        let mut options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c fsync=off -c full_page_writes=off",
            self.port,
            self.socket_dir().display()
        );
        if self.tls {
            let file = |name: &str| self.dir.path().join(name).display().to_string();
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                file("server.pem"),
                file("server.key")
            ));
        }
        let data = self.data_dir();
        let log = self.log_file();
        let out = self.run(
            "pg_ctl",
            &[
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                path_str(&data),
                "-l",
                path_str(&log),
                "-o",
                &options,
            ],
        );
        if out.status.success() {
            self.running = true;
            Ok(())
        } else {
            Err(format!(
                "{}\n{}",
                self.describe(&out),
                std::fs::read_to_string(self.log_file()).unwrap_or_default()
            ))
        }
    }

    fn create_station_database(&self) {
        let mut admin = self.admin("postgres");
        // One statement each: CREATE DATABASE cannot run in a batch's implicit transaction.
        for sql in [
            format!(
                "CREATE ROLE {STATION_ROLE} LOGIN PASSWORD '{STATION_PASSWORD}'
                    NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
            ),
            format!("CREATE DATABASE {DATABASE}"),
            format!("REVOKE ALL ON DATABASE {DATABASE} FROM PUBLIC"),
            format!("GRANT CONNECT, TEMPORARY ON DATABASE {DATABASE} TO {STATION_ROLE}"),
            format!("ALTER ROLE {STATION_ROLE} IN DATABASE {DATABASE} SET search_path = {SCHEMA}"),
        ] {
            admin
                .batch_execute(&sql)
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
        let mut db = self.admin(DATABASE);
        db.batch_execute(&format!(
            "REVOKE ALL ON SCHEMA public FROM PUBLIC;
             CREATE SCHEMA {SCHEMA} AUTHORIZATION {STATION_ROLE};"
        ))
        .expect("station schema");
    }

    /// A test CA, the server's key and certificate (for `localhost`, signed by the CA), and
    /// a stranger CA; made by the server's OS user, in the server's folder.
    fn make_certificates(&self) {
        let ca = |name: &str, cn: &str| {
            vec![
                "req".to_string(),
                "-x509".into(),
                "-newkey".into(),
                "ec".into(),
                "-pkeyopt".into(),
                "ec_paramgen_curve:P-256".into(),
                "-nodes".into(),
                "-days".into(),
                "2".into(),
                "-subj".into(),
                format!("/CN={cn}"),
                "-addext".into(),
                "basicConstraints=critical,CA:TRUE".into(),
                "-addext".into(),
                "keyUsage=critical,keyCertSign,cRLSign".into(),
                "-keyout".into(),
                format!("{name}.key"),
                "-out".into(),
                format!("{name}.pem"),
            ]
        };
        let extensions = self.dir.path().join("server.ext");
        std::fs::write(
            &extensions,
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost\n",
        )
        .expect("server certificate extensions");
        let steps: Vec<Vec<String>> = vec![
            ca("ca", "Journal test CA"),
            ca("stranger-ca", "Stranger CA"),
            [
                "req",
                "-new",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-subj",
                "/CN=localhost",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
            ]
            .map(String::from)
            .to_vec(),
            [
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for args in steps {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            let out = self.run_program(Path::new("openssl"), &args);
            assert!(
                out.status.success(),
                "openssl {args:?}: {}",
                self.describe(&out)
            );
        }
        // PostgreSQL refuses a key that others may read.
        let out = self.run_program(Path::new("chmod"), &["600", "server.key"]);
        assert!(out.status.success(), "chmod: {}", self.describe(&out));
    }

    fn pg_ctl(&self, args: &[&str]) -> Output {
        let data = self.data_dir();
        let mut all = vec!["-D", path_str(&data)];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all)
    }

    /// Runs one of the server's binaries as the server's OS user.
    fn run(&self, program: &str, args: &[&str]) -> Output {
        self.run_program(&self.bin.join(program), args)
    }

    /// Runs `program` as the server's OS user, in the server's folder.
    fn run_program(&self, program: &Path, args: &[&str]) -> Output {
        let mut command = match self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        };
        command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
    }

    fn describe(&self, out: &Output) -> String {
        format!(
            "{}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        if self.running {
            let _ = self.pg_ctl(&["stop", "-m", "fast", "-w"]);
        }
    }
}

/// The newest Debian PostgreSQL server binaries (`/usr/lib/postgresql/<version>/bin`).
fn binaries() -> PathBuf {
    let newest = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max();
    match newest {
        Some((_, bin)) => bin,
        None => panic!(
            "no PostgreSQL server in /usr/lib/postgresql/*/bin: install Debian's `postgresql` \
             package (apt-get install postgresql; .ci/run does)"
        ),
    }
}

fn running_as_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Hands the temporary folder to the `postgres` OS user, who runs the server.
fn give_to_postgres_user(dir: &Path) {
    let id = |flag: &str| -> u32 {
        let out = Command::new("id")
            .args([flag, "postgres"])
            .output()
            .expect("run id");
        assert!(
            out.status.success(),
            "no `postgres` OS user to run PostgreSQL as (it refuses root): install Debian's \
             `postgresql` package, or create the user (.ci/run does)"
        );
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("numeric id")
    };
    std::os::unix::fs::chown(dir, Some(id("-u")), Some(id("-g")))
        .expect("give the temporary folder to postgres");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port on 127.0.0.1")
        .port()
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("UTF-8 temporary path")
}
